"""The attempt log deliveries leave: :class:`DeliveryLog`, its per-delivery view and its findings."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svc_nb._explain import Explanation, explain
from svc_nb._fmt import format_duration
from svc_nb._redact import mask_url
from svc_nb._report import Finding, Report, ReprMixin, Status
from svc_nb.webhooks._attempts import (
    ATTEMPT_COLUMNS,
    coerce_attempts,
    empty_attempts,
    load_attempts,
    write_attempts_file,
)
from svc_nb.webhooks._causes import WebhooksCause as C
from svc_nb.webhooks._policy import RetryPolicy

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DeliveryLog"]

_TITLE = "webhook deliveries"
_SHOWN_ROWS = 20

# cause -> check id of its finding
_CHECKS = {
    C.CANCELLED: "webhooks.delivery.cancelled",
    C.GONE: "webhooks.delivery.gone",
    C.REDIRECT: "webhooks.delivery.redirect",
    C.AUTH: "webhooks.delivery.rejected",
    C.SERVER_ERROR: "webhooks.delivery.server_error",
    C.CLIENT_ERROR: "webhooks.delivery.client_error",
    C.TIMEOUT: "webhooks.delivery.timeout",
    C.CONNECT_FAILED: "webhooks.delivery.connect",
    C.TLS_FAILED: "webhooks.delivery.tls",
}
# Causes that retries may cure: a warning when every delivery got through in the end.
_TRANSIENT = frozenset({C.SERVER_ERROR, C.TIMEOUT, C.CONNECT_FAILED, C.TLS_FAILED})

_EXPLAIN: dict[C, Explanation] = {
    C.NO_ATTEMPTS: Explanation(
        Status.SKIP,
        "no attempts in this log",
        "",
        "Deliver with svc_nb.webhooks.deliver(url, payload, secret), or load a saved log.",
    ),
    C.NOT_DELIVERED: Explanation(
        Status.FAIL,
        "{ok}/{n} deliveries delivered in {attempts} attempts ({retried} needed retries)",
        "{where}",
        "See the findings below for each failure cause.",
    ),
    C.CANCELLED: Explanation(
        Status.WARN,
        "run cancelled after {count} attempts",
        "The log holds every attempt made before the cancellation; in-flight ones have outcome 'cancelled'.",
        "Re-run the deliveries that did not finish (see .deliveries).",
    ),
    C.GONE: Explanation(
        Status.FAIL,
        "the endpoint answered 410 Gone ({count}x)",
        "410 means the receiver wants no more events on this URL. {after}",
        "Disable or delete the webhook subscription for this URL (or fix the route if 410 was unintended).",
    ),
    C.REDIRECT: Explanation(
        Status.FAIL,
        "{count} attempts were answered with a redirect",
        "Redirects are not followed (svc-infra's httpx client does not follow them); each counts as "
        "a failed attempt. {sample}",
        "Register the final URL (usually https:// and/or the trailing slash) as the subscription URL.",
    ),
    C.AUTH: Explanation(
        Status.FAIL,
        "the endpoint rejected {count} attempts with 401/403",
        "Usually a signature mismatch: a different secret, or the receiver hashing the raw body "
        "instead of svc-infra's canonical JSON.",
        "Compare secrets with svc_nb.tokens.fingerprint(secret) on both sides; verify with "
        "svc_nb.webhooks.verify(body, headers, secret).",
    ),
    C.SERVER_ERROR: Explanation(
        Status.FAIL,
        "{count} attempts got a 5xx {eventually}",
        "{sample}",
        "Check the receiver's logs; answer 2xx quickly and process the event in the background.",
    ),
    C.CLIENT_ERROR: Explanation(
        Status.FAIL,
        "{count} attempts got a 4xx {eventually}",
        "svc-infra retries every non-2xx, but a 4xx rarely fixes itself. {sample}",
        "Check the route and method (POST) and the payload the receiver expects.",
    ),
    C.TIMEOUT: Explanation(
        Status.FAIL,
        "{count} attempts: the endpoint did not answer in time",
        "{sample}",
        "Acknowledge within the timeout (svc-infra: WEBHOOK_DELIVERY_TIMEOUT_SECONDS, default 10 s) "
        "and do the work asynchronously.",
    ),
    C.CONNECT_FAILED: Explanation(
        Status.FAIL,
        "{count} attempts: no connection (refused, reset or closed before a response)",
        "{sample}",
        "Check the URL, that the endpoint is listening, and that nothing between drops the connection "
        "(run svc_nb.webhooks.probe(url)).",
    ),
    C.TLS_FAILED: Explanation(
        Status.FAIL,
        "{count} attempts: the TLS handshake failed",
        "{sample}",
        "Serve a certificate valid for the host name with the full chain; do not turn verification off.",
    ),
}


def _cause_masks(df: pd.DataFrame) -> dict[C, pd.Series]:
    """Which attempts show each cause (a status code can be missing: no response)."""
    codes = df["status_code"]
    outcome = df["outcome"]
    masks = {
        C.GONE: codes == 410,
        C.REDIRECT: (codes >= 300) & (codes < 400),
        C.AUTH: codes.isin([401, 403]),
        C.SERVER_ERROR: codes >= 500,
        C.CLIENT_ERROR: (codes >= 400) & (codes < 500) & ~codes.isin([401, 403, 410]),
        C.TIMEOUT: outcome == "timeout",
        C.CONNECT_FAILED: outcome == "connect_error",
        C.TLS_FAILED: outcome == "tls_error",
    }
    return {cause: mask.fillna(False).astype(bool) for cause, mask in masks.items()}


class DeliveryLog(ReprMixin):
    """Every attempt of one or many deliveries; ``.attempts`` is the DataFrame.

    Rows are appended as attempts finish, so a run that is cancelled still
    leaves a complete log of the attempts it made (``cancelled`` is then True).
    """

    def __init__(
        self,
        records: Iterable[Mapping[str, Any]] = (),
        *,
        url: str = "",
        policy: RetryPolicy | None = None,
        frame: pd.DataFrame | None = None,
    ) -> None:
        self._records: list[dict[str, Any]] = [dict(r) for r in records]
        self._frame = frame
        self.url = mask_url(url) if url else ""
        self.policy = policy
        self.cancelled = False
        self.expected = 0
        #: How a loaded log was read (rows left out and why); None for a log of live deliveries.
        self.load_report: Report | None = None

    def append(self, record: dict[str, Any]) -> None:
        """Add one attempt (a mapping over :data:`ATTEMPT_COLUMNS`)."""
        self._records.append(record)
        self._frame = None

    @property
    def attempts(self) -> pd.DataFrame:
        """One row per attempt, columns exactly :data:`ATTEMPT_COLUMNS`."""
        import pandas as pd

        if self._frame is None:
            if not self._records:
                self._frame = empty_attempts()
            else:
                cols = {c: [r.get(c) for r in self._records] for c in ATTEMPT_COLUMNS}
                self._frame = coerce_attempts(pd.DataFrame(cols))
        return self._frame.copy()

    def __len__(self) -> int:
        return len(self._records) if self._records else len(self.attempts)

    @property
    def deliveries(self) -> pd.DataFrame:
        """One row per delivery: attempts made, final outcome and status, delivered, time to finish."""
        import pandas as pd

        df = self.attempts
        if df.empty:
            return pd.DataFrame(
                columns=[
                    "delivery_id",
                    "attempts",
                    "outcome",
                    "status_code",
                    "delivered",
                    "elapsed_s",
                ]
            )
        df = df.sort_values(["delivery_id", "attempt"], kind="stable")
        g = df.groupby("delivery_id", sort=False)
        last = g.tail(1).set_index("delivery_id")
        first = g["scheduled_at"].min()
        out = pd.DataFrame(
            {
                "attempts": g["attempt"].max(),
                "outcome": last["outcome"],
                "status_code": last["status_code"],
                "delivered": last["outcome"] == "delivered",
                "elapsed_s": (last["scheduled_at"] - first).dt.total_seconds(),
            }
        )
        return out.reset_index()

    @property
    def delivered(self) -> bool:
        """True when every delivery in the log ended delivered (False for an empty log)."""
        d = self.deliveries
        return bool(len(d)) and bool(d["delivered"].all()) and not self.cancelled

    # -- persistence --------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the attempts as .csv or .jsonl; :meth:`load` reads them back unchanged."""
        return write_attempts_file(self.attempts, path)

    @classmethod
    def load(cls, path: str | Path) -> DeliveryLog:
        """Read a log written by :meth:`save` (or any CSV / JSON-lines attempt log).

        Rows that cannot be read are left out and named in :meth:`report`; a
        file without the attempt columns raises :class:`AttemptsError`.
        """
        frame = load_attempts(Path(path))
        log = cls(frame=frame)
        log.load_report = frame.attrs.get("report")
        return log

    # -- findings -------------------------------------------------------------------------
    def _summary_finding(self, df: pd.DataFrame, d: pd.DataFrame) -> Finding:
        n, ok = len(d), int(d["delivered"].sum())
        lat = df["duration_ms"].dropna()
        data = {
            "deliveries": n,
            "delivered": ok,
            "attempts": len(df),
            "retried": int((d["attempts"] > 1).sum()),
            "p50_ms": round(float(lat.median()), 1) if len(lat) else None,
            "p95_ms": round(float(lat.quantile(0.95)), 1) if len(lat) else None,
        }
        where = f"to {self.url}" if self.url else ""
        if ok == n:
            return Finding(
                "webhooks.delivery",
                Status.OK,
                f"{ok}/{n} deliveries delivered in {len(df)} attempts ({data['retried']} needed retries)",
                detail=where,
                data=data,
            )
        return explain(
            "webhooks.delivery",
            C.NOT_DELIVERED,
            _EXPLAIN,
            data=data,
            status=Status.FAIL if ok == 0 else Status.WARN,
            ok=ok,
            n=n,
            attempts=len(df),
            retried=data["retried"],
            where=where,
        )

    def _gone_after(self) -> str:
        if self.policy is None:
            return ""
        if self.policy.stop_on_gone:
            return f"The {self.policy.name} policy stopped retrying there."
        return f"The {self.policy.name} policy retries it like any failure (svc-infra does too)."

    def _cause_findings(self, df: pd.DataFrame, d: pd.DataFrame) -> list[Finding]:
        never = int((~d["delivered"]).sum())
        eventually = (
            "and every one was delivered in the end"
            if not never
            else (f"and {never} deliveries never succeeded")
        )
        findings = []
        for cause, mask in _cause_masks(df).items():
            count = int(mask.sum())
            if not count:
                continue
            sample = "; ".join(sorted(set(df.loc[mask, "error"].head(3))))
            status = Status.WARN if cause in _TRANSIENT and not never else None
            findings.append(
                explain(
                    _CHECKS[cause],
                    cause,
                    _EXPLAIN,
                    status=status,
                    data={"attempts": count},
                    count=count,
                    sample=sample,
                    eventually=eventually,
                    after=self._gone_after(),
                )
            )
        return findings

    def report(self) -> Report:
        """What went wrong (or right) across the attempts, with the fix for each cause."""
        df = self.attempts
        findings: list[Finding] = []
        if self.load_report is not None:
            findings.extend(f for f in self.load_report if f.status is not Status.OK)
        if self.cancelled:
            findings.append(explain(_CHECKS[C.CANCELLED], C.CANCELLED, _EXPLAIN, count=len(df)))
        if df.empty:
            findings.append(explain("webhooks.delivery", C.NO_ATTEMPTS, _EXPLAIN))
            return Report(findings, title=_TITLE)
        d = self.deliveries
        findings.append(self._summary_finding(df, d))
        findings.extend(self._cause_findings(df, d))
        return Report(findings, title=_TITLE)

    # -- views ------------------------------------------------------------------------------
    def _summary(self) -> str:
        df = self.attempts
        if df.empty:
            return "DeliveryLog: no attempts"
        d = self.deliveries
        counts = df["outcome"].value_counts().to_dict()
        outcomes = ", ".join(f"{k} {v}" for k, v in counts.items())
        head = (
            f"DeliveryLog: {int(d['delivered'].sum())}/{len(d)} delivered, {len(df)} attempts "
            f"({outcomes})" + (" [cancelled]" if self.cancelled else "")
        )
        if self.policy is not None:
            waits = ", ".join(format_duration(w) for w in self.policy.waits) or "none"
            head += f"\npolicy {self.policy.name}: waits {waits}"
        return head

    def __str__(self) -> str:
        df = self.attempts
        body = "" if df.empty else "\n" + df.head(_SHOWN_ROWS).to_string(index=False)
        return self._summary() + body

    def __repr__(self) -> str:
        return f"<{self._summary().splitlines()[0]}>"

    def _repr_html_(self) -> str:
        df = self.attempts
        table = "" if df.empty else df.head(_SHOWN_ROWS).to_html(index=False, na_rep="")
        more = (
            f"<div>… {len(df) - _SHOWN_ROWS} more attempts in .attempts</div>"
            if len(df) > _SHOWN_ROWS
            else ""
        )
        lines = "<br>".join(html.escape(x) for x in self._summary().splitlines())
        return f'<div class="svcnb-delivery"><b>{lines}</b>{table}{more}</div>'
