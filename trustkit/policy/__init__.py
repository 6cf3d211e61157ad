"""Layer 7: trust policies and admission -- may this image run, and why.

:class:`Policy` (rules by repository pattern: trust anchor, required signers, docker's release rule, staleness,
verification time), :func:`verify` and :class:`Verifier` (an explained :class:`Verdict` for an image),
:func:`admission_response` (a Kubernetes AdmissionReview answered, images pinned to their signed digests), and
importers for connaisseur's and portieris' configuration.
"""

from trustkit.policy.admission import POD_SPEC_PATHS, admission_response, pod_images
from trustkit.policy.importers import from_connaisseur, from_portieris
from trustkit.policy.model import Policy, PolicyError, Rule, SignerRequirement, TrustAnchor
from trustkit.policy.verdicts import AsyncVerifier, Verdict, VerdictCache, Verifier, verify

__all__ = [
    "POD_SPEC_PATHS",
    "AsyncVerifier",
    "Policy",
    "PolicyError",
    "Rule",
    "SignerRequirement",
    "TrustAnchor",
    "Verdict",
    "VerdictCache",
    "Verifier",
    "admission_response",
    "from_connaisseur",
    "from_portieris",
    "pod_images",
    "verify",
]
