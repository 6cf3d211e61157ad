"""notary's config.json and docker's folders are read once, the same way, by the key stores and the remotes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trustkit.errors import ConfigurationError
from trustkit.keystore import docker_trust_dir, notary_trust_dir
from trustkit.remote import docker_config_dir, docker_server_config, notary_server_config


def test_notary_server_config_keys_are_case_insensitive_as_viper_reads_them(tmp_path: Path) -> None:
    """notary reads config.json with viper: ``Remote_Server.URL`` is ``remote_server.url``."""
    config_file = tmp_path / "config.json"
    config_file.write_text(
        json.dumps({"Trust_Dir": "~/t", "Remote_Server": {"URL": "https://notary.test:4443", "SkipTLSVerify": True}})
    )
    config = notary_server_config(config_file=config_file, env={"HOME": str(tmp_path)})
    assert config.url == "https://notary.test:4443"
    assert config.trust_dir == tmp_path / "t"
    assert config.tls.verify is False


@pytest.mark.parametrize("value", ["~/.docker/trust", "~", "/abs/trust", "relative/../trust", ""])
def test_the_key_stores_and_the_remotes_find_the_same_notary_trust_dir(tmp_path: Path, value: str) -> None:
    home = tmp_path / "home"
    (home / ".notary").mkdir(parents=True)
    (home / ".notary" / "config.json").write_text(json.dumps({"TRUST_DIR": value}))
    env = {"HOME": str(home)}
    assert notary_trust_dir(environ=env) == notary_server_config(env=env).trust_dir


@pytest.mark.parametrize("content", ["{", "[]", '{"trust_dir": 5}'])
def test_a_bad_notary_config_is_a_configuration_error_for_both(tmp_path: Path, content: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    env = {"HOME": str(tmp_path)}
    with pytest.raises(ConfigurationError) as from_keystore:
        notary_trust_dir(path, environ=env)
    with pytest.raises(ConfigurationError) as from_remote:
        notary_server_config(config_file=path, env=env)
    assert str(from_keystore.value) == str(from_remote.value)


def test_a_missing_notary_config_is_a_configuration_error_for_both(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    with pytest.raises(ConfigurationError, match="does not exist"):
        notary_trust_dir(tmp_path / "nope.json", environ=env)
    with pytest.raises(ConfigurationError, match="does not exist"):
        notary_server_config(config_file=tmp_path / "nope.json", env=env)


@pytest.mark.parametrize("docker_config", [None, "", "/elsewhere/docker"])
def test_the_key_stores_and_the_remotes_find_the_same_docker_folders(tmp_path: Path, docker_config: str | None) -> None:
    env = {"HOME": str(tmp_path)}
    if docker_config is not None:
        env["DOCKER_CONFIG"] = docker_config
    expected = Path(docker_config) if docker_config else tmp_path / ".docker"
    assert docker_config_dir(env=env) == expected
    assert docker_trust_dir(environ=env) == expected / "trust"
    assert docker_server_config("registry.test/app", env=env).trust_dir == expected / "trust"
