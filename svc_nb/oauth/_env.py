"""The ``oauth`` check of ``diagnose()``: provider credentials in the environment (no network)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import mask_secret, register_secret
from svc_nb._report import Finding, Status
from svc_nb.oauth._causes import OAuthCause as C

__all__ = ["credential_findings"]

_ENV: dict[C, Explanation] = {
    C.NOT_CONFIGURED: Explanation(Status.SKIP, "no <PROVIDER>_CLIENT_ID in the environment"),
    C.CLIENT_SECRET_MISSING: Explanation(
        Status.WARN,
        "{id_name} is set but {secret_name} is missing or empty",
        "A confidential web client must authenticate at the token endpoint; the exchange will "
        "fail with invalid_client.",
        "export {secret_name}=<the client secret from the provider console>",
    ),
    C.CLIENT_SECRET_WHITESPACE: Explanation(
        Status.WARN,
        "{id_name} and {secret_name} are set (has surrounding whitespace)",
        "The provider compares the secret byte for byte; a pasted newline or space fails with "
        "invalid_client.",
        "Remove the whitespace around {secret_name}.",
    ),
}


def _provider_finding(id_name: str, environ: Mapping[str, str]) -> Finding:
    provider = id_name.removesuffix("_CLIENT_ID")
    secret_name = f"{provider}_CLIENT_SECRET"
    secret = environ.get(secret_name, "")
    check = f"oauth.credentials.{provider.lower()}"
    names: dict[str, Any] = {"id_name": id_name, "secret_name": secret_name}
    if not secret.strip():
        return explain(check, C.CLIENT_SECRET_MISSING, _ENV, **names)
    register_secret(secret)
    data = {"secret": mask_secret(secret)}
    if secret != secret.strip():
        return explain(check, C.CLIENT_SECRET_WHITESPACE, _ENV, data=data, **names)
    return Finding(check, Status.OK, f"{id_name} and {secret_name} are set", data=data)


def credential_findings(environ: Mapping[str, str], timeout: float) -> list[Finding]:
    """One finding per ``<PROVIDER>_CLIENT_ID`` set: is its client secret there too."""
    ids = sorted(k for k in environ if k.endswith("_CLIENT_ID") and environ[k].strip())
    if not ids:
        return [explain("oauth.credentials", C.NOT_CONFIGURED, _ENV)]
    return [_provider_finding(name, environ) for name in ids]
