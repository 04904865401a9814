"""The verdicts of a comparison: which pairs of services cannot work together, and why.

Roles decide the pairs: tokens go from an issuer to a verifier, subscription
secrets from the service that creates subscriptions to the worker that
delivers, jobs from the service that enqueues to the worker. A pair is judged
only between two different services whose inputs carry the setting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from svc_nb._explain import explain
from svc_nb._report import Finding, Status
from svc_nb.env._causes import EnvCause
from svc_nb.env._compare_explain import EXPLAIN, ROLE_WORDS
from svc_nb.env._compare_settings import ROWS, Cell, ServiceSettings

__all__ = ["JUDGES", "ROLES", "Judge", "Roles", "judge_roles", "names"]

C = EnvCause
ISSUES, VERIFIES = "issues_tokens", "verifies_tokens"
CREATES, WORKER, ENQUEUES = "creates_subscriptions", "worker", "enqueues"
ROLES = (ISSUES, VERIFIES, CREATES, ENQUEUES, WORKER)
_LISTED = 8  # services or pairs named in one sentence before "+N more"
_LABELS = {spec.key: spec.label for spec in ROWS}

Services = Mapping[str, ServiceSettings]
Roles = Mapping[str, frozenset[str]]


def names(items: Iterable[str], limit: int = _LISTED) -> str:
    listed = list(dict.fromkeys(items))
    shown = ", ".join(listed[:limit])
    return shown + (f" (+{len(listed) - limit} more)" if len(listed) > limit else "")


def groups(services: Services, key: str, known: Iterable[str]) -> str:
    """``value: a, b; value: c`` — services grouped by what they show for one setting."""
    by_key: dict[Any, list[str]] = {}
    shown: dict[Any, str] = {}
    for name in known:
        cell = services[name].cell(key)
        by_key.setdefault(cell.key, []).append(name)
        shown.setdefault(cell.key, cell.shown)
    return "; ".join(f"{shown[k]} on {names(v)}" for k, v in by_key.items())


def _left_out(services: Services, key: str, members: Iterable[str]) -> list[str]:
    return [n for n in members if not services[n].cell(key).known]


def _missing_data(check: str, key: str, left_out: list[str]) -> Finding:
    return explain(
        check,
        C.COMPARE_DATA_MISSING,
        EXPLAIN,
        names=names(left_out),
        setting=_LABELS.get(key, key),
        data={"left_out": left_out},
    )


@dataclass
class _Pairs:
    """Pairs (sender, receiver) of different services that both carry the setting."""

    pairs: list[tuple[str, str]]
    left_out: list[str]


def _pairs(services: Services, roles: Roles, key: str, send: str, receive: str) -> _Pairs:
    senders = [n for n in services if send in roles[n]]
    receivers = [n for n in services if receive in roles[n]]
    left_out = _left_out(services, key, dict.fromkeys([*senders, *receivers]))
    pairs = [
        (s, r)
        for s in senders
        for r in receivers
        if s != r and s not in left_out and r not in left_out
    ]
    return _Pairs(pairs, left_out)


def _no_pairs(check: str, key: str, found: _Pairs, what: str) -> Finding:
    if found.left_out:
        return _missing_data(check, key, found.left_out)
    return Finding(check, Status.OK, f"nothing to compare: no two services {what}")


# -- pairs of services ------------------------------------------------------------

Classify = Callable[[Cell, Cell], str]
# (kind of pair, its cause, the verb for "receiver <verb> sender" in one and several receivers)
Order = tuple[tuple[str, EnvCause, tuple[str, str]], ...]


def _flows(pairs: list[tuple[str, str]], verb: tuple[str, str]) -> str:
    """``worker rejects tokens from api, admin; api, admin reject tokens from worker``."""
    by_sender_set: dict[tuple[str, ...], list[str]] = {}
    for receiver in dict.fromkeys(r for _, r in pairs):
        senders = tuple(s for s, r in pairs if r == receiver)
        by_sender_set.setdefault(senders, []).append(receiver)
    clauses = [
        f"{names(receivers)} {verb[0] if len(receivers) == 1 else verb[1]} {names(senders)}"
        for senders, receivers in by_sender_set.items()
    ]
    return "; ".join(clauses[:3]) + (f" (+{len(clauses) - 3} more)" if len(clauses) > 3 else "")


def _pair_fields(
    services: Services, key: str, pairs: list[tuple[str, str]], verb: tuple[str, str]
) -> dict[str, Any]:
    """Text for the failing pairs: who sends, who receives, who lacks the value."""
    senders = list(dict.fromkeys(s for s, _ in pairs))
    receivers = list(dict.fromkeys(r for _, r in pairs))
    involved = list(dict.fromkeys([*senders, *receivers]))
    missing = [n for n in involved if services[n].cell(key).state == "missing"]
    invalid = [n for n in involved if services[n].cell(key).state == "invalid"]
    present = [n for n in involved if n not in missing]
    return {
        "senders": names(senders),
        "receivers": names(receivers),
        "involved": names(involved),
        "flows": _flows(pairs, verb),
        "sender_value": services[senders[0]].cell(key).shown,
        "missing": names(missing),
        "invalid": names(invalid),
        "present": names(present) or "the others",
    }


def _left_note(left_out: list[str]) -> str:
    return f"\nLeft out (their input does not carry it): {names(left_out)}." if left_out else ""


def _pairwise(
    check: str,
    key: str,
    services: Services,
    found: _Pairs,
    classify: Classify,
    order: Order,
    ok_summary: str,
    statuses: Mapping[str, Status] | None = None,
) -> Finding:
    """The first kind of failing pair in ``order`` as a finding, else ok."""
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for sender, receiver in found.pairs:
        kind = classify(services[sender].cell(key), services[receiver].cell(key))
        by_kind.setdefault(kind, []).append((sender, receiver))
    members = list(dict.fromkeys(n for pair in found.pairs for n in pair))
    data: dict[str, Any] = {
        "pairs": {kind: [list(p) for p in pairs[:50]] for kind, pairs in by_kind.items()},
        "left_out": found.left_out,
    }
    fields: dict[str, Any] = {
        "groups": groups(services, key, members),
        "note": _left_note(found.left_out),
    }
    for kind, cause, verb in order:
        pairs = by_kind.get(kind)
        if pairs:
            status = (statuses or {}).get(kind)
            extra = _pair_fields(services, key, pairs, verb)
            return explain(check, cause, EXPLAIN, data=data, status=status, **fields, **extra)
    summary = f"{names(members)} {ok_summary}"
    return Finding(check, Status.OK, summary, fields["groups"] + fields["note"], data=data)


# -- JWT --------------------------------------------------------------------------


def _jwt_pair(issuer: Cell, verifier: Cell) -> str:
    """ok, old (accepted through an old secret), linked (rotation half done), missing or rejected."""
    if issuer.state == "missing" or verifier.state == "missing":
        return "missing"
    if issuer.key == verifier.key:
        return "ok"
    if issuer.key in verifier.extra:
        return "old"
    return "linked" if verifier.key in issuer.extra else "rejected"


_JWT_ORDER: Order = (
    ("rejected", C.JWT_SECRET_MISMATCH, ("rejects tokens from", "reject tokens from")),
    (
        "linked",
        C.JWT_ROTATION_INCOMPLETE,
        (
            "lacks the new secret and rejects tokens from",
            "lack the new secret and reject tokens from",
        ),
    ),
    ("missing", C.JWT_SECRET_MISSING, ("cannot verify tokens from", "cannot verify tokens from")),
    (
        "old",
        C.JWT_ROTATION_IN_PROGRESS,
        ("verifies with an old secret the tokens of", "verify with an old secret the tokens of"),
    ),
)


# -- webhook encryption key -------------------------------------------------------


def _key_pair(creator: Cell, worker: Cell) -> str:
    if creator.state == "missing" or worker.state == "missing":
        return "missing"
    if creator.state == "invalid" or worker.state == "invalid":
        return "invalid"
    return "ok" if creator.key == worker.key else "differs"


_DECRYPT = ("cannot decrypt subscription secrets stored by",) * 2
_KEY_ORDER: Order = (
    ("differs", C.WEBHOOK_KEY_MISMATCH, _DECRYPT),
    ("missing", C.WEBHOOK_KEY_MISSING, _DECRYPT),
    ("invalid", C.WEBHOOK_KEY_INVALID, _DECRYPT),
)


# -- job queue --------------------------------------------------------------------


def _queue_pair(enqueuer: Cell, worker: Cell) -> str:
    if enqueuer.key != worker.key:
        return "differs"
    return "memory" if enqueuer.key == ("memory",) else "ok"


_NEVER_SEES = ("never sees the jobs of", "never see the jobs of")
_QUEUE_ORDER: Order = (
    ("differs", C.JOB_QUEUE_MISMATCH, _NEVER_SEES),
    ("memory", C.JOB_QUEUE_NOT_SHARED, _NEVER_SEES),
)


# -- the pairwise judges, one row each -----------------------------------------------


@dataclass(frozen=True)
class _PairRule:
    """A setting that must agree between the services on the two ends of one relation.

    Called with (services, roles, assumed), a rule is the judge of its ``check``.
    """

    check: str
    key: str
    sends: str  # the role at the start of the relation (issues tokens, enqueues jobs…)
    receives: str  # the role at its end
    relation: str  # "where one … and another …", said when no pair has both roles
    classify: Classify
    order: Order
    ok_summary: str
    # Kinds whose status depends on whether the roles were assumed (not declared).
    assumed_statuses: Mapping[str, Status] | None = None
    declared_statuses: Mapping[str, Status] | None = None

    def __call__(self, services: Services, roles: Roles, assumed: bool) -> Finding:
        found = _pairs(services, roles, self.key, self.sends, self.receives)
        if not found.pairs:
            return _no_pairs(self.check, self.key, found, self.relation)
        statuses = self.assumed_statuses if assumed else self.declared_statuses
        return _pairwise(
            self.check,
            self.key,
            services,
            found,
            self.classify,
            self.order,
            self.ok_summary,
            statuses,
        )


_PAIR_RULES = (
    _PairRule(
        check="env.compare.jwt_secret",
        key="jwt_secret",
        sends=ISSUES,
        receives=VERIFIES,
        relation="where one issues tokens and another verifies them",
        classify=_jwt_pair,
        order=_JWT_ORDER,
        ok_summary="sign and verify tokens with one JWT secret",
    ),
    _PairRule(
        check="env.compare.webhook_encryption_key",
        key="webhook_key",
        sends=CREATES,
        receives=WORKER,
        relation="where one creates subscriptions and another delivers",
        classify=_key_pair,
        order=_KEY_ORDER,
        ok_summary="encrypt and decrypt subscription secrets with one key",
    ),
    _PairRule(
        check="env.compare.queue",
        key="job_queue",
        sends=ENQUEUES,
        receives=WORKER,
        relation="where one enqueues jobs and another works them",
        classify=_queue_pair,
        order=_QUEUE_ORDER,
        ok_summary="share one job queue",
        # With assumed roles each service may work its own jobs: a private queue is a warning.
        assumed_statuses={"memory": Status.WARN},
        declared_statuses={"memory": Status.FAIL},
    ),
)


# -- settings every service shares --------------------------------------------------


def _known(services: Services, key: str) -> tuple[list[str], list[str]]:
    known = [n for n in services if services[n].cell(key).known]
    return known, [n for n in services if n not in known]


def judge_database(services: Services, roles: Roles, assumed: bool) -> Finding:
    check, key = "env.compare.database", "database"
    known, left_out = _known(services, key)
    if len(known) < 2:
        return _missing_data(check, key, left_out)
    fields: dict[str, Any] = {"groups": groups(services, key, known), "note": _left_note(left_out)}
    data = {"left_out": left_out}
    distinct = {services[n].cell(key).key for n in known}
    if len(distinct) > 1:
        return explain(check, C.DATABASE_DIFFERS, EXPLAIN, data=data, count=len(distinct), **fields)
    if all(services[n].cell(key).state == "missing" for n in known):
        return explain(check, C.NO_DATABASE_URL, EXPLAIN, data=data, names=names(known), **fields)
    summary = f"{names(known)} use one database: {services[known[0]].cell(key).shown}"
    return Finding(check, Status.OK, summary, fields["note"].strip(), data=data)


def judge_app_env(services: Services, roles: Roles, assumed: bool) -> Finding:
    check, key = "env.compare.app_env", "app_env"
    known, left_out = _known(services, key)
    if len(known) < 2:
        return _missing_data(check, key, left_out)
    prod = [n for n in known if services[n].prod_like]
    dev = [n for n in known if not services[n].prod_like]
    fields: dict[str, Any] = {"groups": groups(services, key, known), "note": _left_note(left_out)}
    data = {"production_like": prod, "development": dev, "left_out": left_out}
    if prod and dev:
        return explain(
            check, C.APP_ENV_MIXED, EXPLAIN, data=data, prod=names(prod), dev=names(dev), **fields
        )
    kind = "production-like" if prod else "development"
    summary = f"every service runs a {kind} environment"
    return Finding(check, Status.OK, summary, fields["groups"] + fields["note"], data=data)


def judge_cache(services: Services, roles: Roles, assumed: bool) -> Finding:
    check = "env.compare.cache"
    known, left_out = _known(services, "cache_url")
    if len(known) < 2:
        return _missing_data(check, "cache_url", left_out)
    data: dict[str, Any] = {"left_out": left_out}
    note = _left_note(left_out)
    distinct = {services[n].cell("cache_url").key for n in known}
    if len(distinct) > 1:
        grouped = groups(services, "cache_url", known)
        return explain(
            check,
            C.CACHE_URL_DIFFERS,
            EXPLAIN,
            data=data,
            groups=grouped,
            note=note,
            count=len(distinct),
        )
    spaced, unspaced = _known(services, "cache_namespace")
    if len({services[n].cell("cache_namespace").key for n in spaced}) > 1:
        grouped = groups(services, "cache_namespace", spaced)
        note = _left_note(unspaced)
        return explain(
            check, C.CACHE_NAMESPACE_DIFFERS, EXPLAIN, data=data, groups=grouped, note=note
        )
    shown = services[known[0]].cell("cache_url").shown
    namespace = services[spaced[0]].cell("cache_namespace").shown if spaced else "(not known)"
    summary = f"{names(known)} share one cache: {shown}, namespace {namespace}"
    return Finding(check, Status.OK, summary, note.strip(), data=data)


Judge = Callable[[Services, Roles, bool], Finding]
JUDGES: tuple[tuple[str, Judge], ...] = (
    *((rule.check, rule) for rule in _PAIR_RULES),
    ("env.compare.database", judge_database),
    ("env.compare.app_env", judge_app_env),
    ("env.compare.cache", judge_cache),
)


def judge_roles(roles: Roles, assumed: bool, unlisted: list[str]) -> Finding:
    """The roles the verdicts assumed: the report always says who does what."""
    every = ", ".join(ROLE_WORDS[r] for r in ROLES)
    if assumed:
        summary = "roles not given: every service is assumed to do everything"
        detail = (
            f"Each service is taken to {every}. Pass roles= to judge only the pairs that "
            "really talk to each other, e.g. {'api': ['issues_tokens', 'verifies_tokens', "
            "'creates_subscriptions', 'enqueues'], 'worker': ['worker']}."
        )
    else:
        lines = [
            f"{name}: {', '.join(r for r in ROLES if r in held) or '(no role)'}"
            + (" — not listed, assumed to do everything" if name in unlisted else "")
            for name, held in roles.items()
        ]
        summary = "roles: " + "; ".join(lines[:_LISTED]) + (" …" if len(lines) > _LISTED else "")
        detail = "\n".join(lines)
    data = {"assumed": assumed, "roles": {n: sorted(r) for n, r in roles.items()}}
    return Finding("env.compare.roles", Status.OK, summary, detail, data=data)
