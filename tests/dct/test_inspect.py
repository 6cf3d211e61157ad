"""inspect: docker's reading of trust data, and its JSON and --pretty renderings.

Every scenario runs with ``DockerTrust.inspect`` and with ``DockerTrust.inspect_async`` (run by ``asyncio.run``;
the blocking remote called from worker threads): the same report, the same errors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import attrs
import pytest

import trustkit as tk
from tests.support.dct import DIGEST, REPO
from trustkit.dct import (
    AdministrativeKeys,
    DockerTrust,
    InspectFailure,
    RepositoryTrust,
    SignedTag,
    Signer,
    TrustInspection,
)


@pytest.fixture(params=["sync", "async"], autouse=True)
def driver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "async":

        def inspect(self: DockerTrust, *references: str, strict: bool = True) -> TrustInspection:
            return asyncio.run(self.inspect_async(*references, strict=strict))

        monkeypatch.setattr(DockerTrust, "inspect", inspect)
    return str(request.param)


SIGNED_REPO = RepositoryTrust(  # the repository of docker's own golden files (cli/command/trust/testdata)
    name="signed-repo",
    gun="docker.io/library/signed-repo",
    tag=None,
    signed_tags=(
        SignedTag("blue", "626c75652d646967657374", ("alice",)),
        SignedTag("green", "677265656e2d646967657374", ("Repo Admin",)),
        SignedTag("red", "7265642d646967657374", ("alice", "bob")),
    ),
    signers=(Signer("bob", ("B",)), Signer("alice", ("A",))),
    administrative_keys=(AdministrativeKeys("Root", ("rootID",)), AdministrativeKeys("Repository", ("targetsID",))),
)


def test_pretty_is_dockers_text() -> None:
    assert SIGNED_REPO.pretty() == (
        "\nSignatures for signed-repo\n\n"
        "SIGNED TAG   DIGEST                     SIGNERS\n"
        "blue         626c75652d646967657374     alice\n"
        "green        677265656e2d646967657374   (Repo Admin)\n"
        "red          7265642d646967657374       alice, bob\n"
        "\nList of signers and their keys for signed-repo\n\n"
        "SIGNER    KEYS\n"
        "alice     A\n"
        "bob       B\n"
        "\nAdministrative keys for signed-repo\n\n"
        "  Repository Key:\ttargetsID\n"
        "  Root Key:\trootID\n"
    )
    empty = RepositoryTrust("r:unsigned", "docker.io/library/r", "unsigned", (), (), SIGNED_REPO.administrative_keys)
    assert empty.pretty() == (
        "\nNo signatures for r:unsigned\n\n"
        "\nAdministrative keys for r:unsigned\n\n"
        "  Repository Key:\ttargetsID\n  Root Key:\trootID\n"
    )


def test_json_is_dockers_array() -> None:
    text = SIGNED_REPO.to_json()
    assert text.startswith('[\n    {\n        "Name": "signed-repo",\n        "SignedTags": [\n')
    assert text.endswith("\n    }\n]\n")
    assert json.loads(text)[0]["Signers"] == [
        {"Name": "bob", "Keys": [{"ID": "B"}]},
        {"Name": "alice", "Keys": [{"ID": "A"}]},
    ]
    assert list(json.loads(text)[0]) == ["Name", "SignedTags", "Signers", "AdministrativeKeys"]
    keyless = RepositoryTrust("x", "g", None, (), (Signer("nokeys", ()),), ())
    assert (
        '"Signers": [\n            {\n                "Name": "nokeys"\n            }\n        ]' in keyless.to_json()
    )
    assert '"SignedTags": [],' in keyless.to_json() and '"AdministrativeKeys": []' in keyless.to_json()
    html = RepositoryTrust("x", "g", None, (SignedTag("a<b>&c", "", ("Repo Admin",)),), (), ())
    assert '"SignedTag": "a\\u003cb\\u003e\\u0026c"' in html.to_json()  # Go's HTML-safe escaping


def test_several_repositories_and_failures() -> None:
    failure = InspectFailure("nope", tk.RepositoryNotFoundError("no signatures or cannot access nope"))
    report = TrustInspection((SIGNED_REPO, failure, SIGNED_REPO))
    assert list(report) == [SIGNED_REPO, SIGNED_REPO] and report.failures == (failure,)
    assert json.loads(report.to_json()) == [json.loads(SIGNED_REPO.to_json())[0]] * 2
    assert report.pretty() == SIGNED_REPO.pretty() + "\n\n"  # docker stops at the first failure
    assert TrustInspection((failure,)).to_json() == "[]\n"
    with pytest.raises(tk.RepositoryNotFoundError):
        report.raise_for_failures()
    assert TrustInspection((SIGNED_REPO, SIGNED_REPO)).pretty() == SIGNED_REPO.pretty() + "\n\n" + SIGNED_REPO.pretty()


def test_released_tags_signers_and_admin_keys(admin: DockerTrust) -> None:
    jeff, ben = admin.generate_key("jeff"), admin.generate_key("ben")
    admin.add_signer("jeff", REPO, keys=[jeff])
    admin.add_signer("ben", REPO, keys=[ben])
    repository = admin.repository(REPO)
    target = tk.TargetFile.from_digest(DIGEST, 3)
    repository.add_target("v10", target, roles=["targets/releases", "targets/jeff", "targets/ben"])
    repository.add_target("v2", target, roles=["targets/releases", "targets/ben"])
    repository.add_target("admin", tk.TargetFile.from_digest("cd" * 32, 4))  # targets only: Repo Admin
    repository.add_target("v1", target, roles=["targets/jeff"])  # never released: not shown
    repository.add_target("v3", tk.TargetFile.from_digest("ef" * 32, 5), roles=["targets/releases"])
    repository.add_target("v3", target, roles=["targets/jeff"])  # another digest: not a signer of v3
    repository.publish()

    [info] = admin.inspect(REPO)
    assert [(t.name, t.digest, t.signers) for t in info.signed_tags] == [
        ("admin", "cd" * 32, ("Repo Admin",)),
        ("v2", DIGEST, ("ben",)),
        ("v3", "ef" * 32, ("Repo Admin",)),
        ("v10", DIGEST, ("jeff", "ben")),  # walk order: targets/jeff was delegated first
    ]
    assert [(s.name, s.key_ids) for s in info.signers] == [("jeff", (jeff.key_id,)), ("ben", (ben.key_id,))]
    root = tk.Metadata.from_bytes(repository.cache.load("root") or b"", role="root").signed
    assert info.root_key_ids == root.roles["root"].keyids  # TUF IDs: the certificate's
    assert info.repository_key_ids == root.roles["targets"].keyids
    assert info.root_key_ids[0] not in {k.key_id for k in admin.list_keys(role="root")}

    [only] = admin.inspect(f"{REPO}:v10")
    assert only.name == f"{REPO}:v10" and only.tag == "v10"
    assert [t.name for t in only.signed_tags] == ["v10"] and only.signers == info.signers
    assert admin.inspect(f"{REPO}:missing")[0].signed_tags == ()
    assert "No signatures for" in admin.inspect(f"{REPO}:missing")[0].pretty()
    assert len(admin.inspect(f"{REPO}@sha256:{DIGEST}")[0].signed_tags) == 4  # docker: no tag, every tag


def test_paths_nested_roles_and_keyless_signers(admin: DockerTrust) -> None:
    jeff = admin.generate_key("jeff")
    admin.add_signer("jeff", REPO, keys=[jeff])
    repository = admin.repository(REPO)
    repository.add_delegation("targets/qa", keys=[jeff], paths=["qa"])
    repository.add_delegation("targets/jeff/nested", keys=[jeff], all_paths=True)
    target = tk.TargetFile.from_digest(DIGEST, 3)
    repository.add_target("qa-v1", target, roles=["targets/releases", "targets/qa", "targets/jeff/nested"])
    repository.publish()
    repository.remove_delegation_keys("targets/qa", [jeff.key_id], publish=True)

    [info] = admin.inspect(REPO)
    assert {s.name: s.key_ids for s in info.signers} == {
        "jeff": (jeff.key_id,),
        "qa": (),
        "jeff/nested": (jeff.key_id,),
    }
    # targets/qa no longer verifies (no key left): skipped, as notary does, and reported
    assert info.signed_tags == (SignedTag("qa-v1", DIGEST, ("jeff/nested",)),)
    assert [p.split(" of ")[0] for p in info.problems] == ["targets/qa"]
    assert '{\n                "Name": "qa"\n            }' in info.to_json()
    assert "\nqa" + " " * 12 + "\n" in info.pretty()  # a keyless signer: an empty cell, padded as docker pads
    # with a tag, roles whose paths do not allow it are not walked, nor their children
    repository.add_delegation("targets/jeff/nested/deep", keys=[jeff], all_paths=True)
    repository.remove_delegation_paths("targets/jeff/nested", clear=True)
    repository.add_delegation("targets/jeff/nested", paths=["other/"])
    repository.publish()
    assert admin.inspect(f"{REPO}:qa-v1")[0].signed_tags == (SignedTag("qa-v1", DIGEST, ("Repo Admin",)),)


def test_failures_are_typed_and_say_what_to_do(admin: DockerTrust) -> None:
    with pytest.raises(tk.RepositoryNotFoundError) as raised:
        admin.inspect("localhost:5000/unit/none")
    message = str(raised.value)
    assert message.startswith("no signatures or cannot access localhost:5000/unit/none: trust data missing")
    assert "add_signer" in message and "DOCKER_CONTENT_TRUST_SERVER" in message
    report = admin.inspect("localhost:5000/unit/none", "localhost:5000/unit/other", strict=False)
    assert len(report) == 0 and [f.reference for f in report.failures] == [
        "localhost:5000/unit/none",
        "localhost:5000/unit/other",
    ]
    assert report.to_json() == "[]\n" and report.pretty() == ""
    with pytest.raises(tk.ConfigurationError):
        admin.inspect("Upper/Case")
    with pytest.raises(ValueError, match="at least one"):
        admin.inspect()


def test_untrusted_releases_reported_with_the_fix(make_trust: Callable[..., DockerTrust]) -> None:
    admin, ben = make_trust("admin"), make_trust("ben")
    ben_key = ben.generate_key("ben")
    admin.add_signer("ben", REPO, keys=[ben_key])
    admin.add_signer("jeff", REPO, keys=[admin.generate_key("jeff")])
    ben.sign(f"{REPO}:v1", digest=DIGEST, size=3)  # targets/releases now signed by ben's key alone
    admin.remove_delegation_keys(REPO, [ben_key.key_id], roles=["targets/releases"])
    [info] = admin.inspect(REPO)
    [problem] = info.problems
    assert "targets/releases" in problem and "valid signatures did not meet threshold" in problem
    assert "witness" in problem
    assert info.signed_tags == ()  # as docker: the untrusted role's tags are ignored


def test_inspect_results_render_as_html_tables_in_a_notebook() -> None:
    page = SIGNED_REPO._repr_html_()
    assert page.startswith("<div class='trustkit-inspect'><h4>Trust data of signed-repo</h4>")
    for caption in ("Signed tags", "Signers and their keys", "Administrative keys"):
        assert f"<strong>{caption}</strong>" in page
    assert ">sha256:7265642d646967657374</td>" in page and ">alice, bob</td>" in page  # red, by both signers
    assert ">bob</td>" in page and ">targets/bob</td>" in page and ">Root</td>" in page and ">rootID</td>" in page
    failure = InspectFailure("nope", tk.RepositoryNotFoundError("trust data missing for remote repository nope"))
    both = TrustInspection((SIGNED_REPO, failure))._repr_html_()
    assert both.startswith(page) and "<strong>Could not inspect</strong>" in both and "trust data missing" in both
    problems = attrs.evolve(SIGNED_REPO, problems=("targets/releases of x is not trusted (…): witness it",))
    assert "<strong>Problems</strong>" in problems._repr_html_() and "witness it" in problems._repr_html_()
