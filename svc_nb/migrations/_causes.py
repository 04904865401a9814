"""Why a migrations check did not pass: cause codes and what a user reads for each."""

from __future__ import annotations

from svc_nb._explain import CauseEnum, Explanation
from svc_nb._report import Status

__all__ = ["CMD", "VERIFY_SCHEMA", "MigrationsCause", "commands"]


class MigrationsCause(CauseEnum):
    """Cause codes of the ``migrations.*`` checks."""

    # the scripts folder
    SCRIPTS_MISSING = (
        "scripts_missing",
        "the Alembic scripts folder (script_location) does not exist",
    )
    SCRIPTS_NOT_A_FOLDER = "scripts_not_a_folder", "script_location names a file, not a folder"
    VERSIONS_MISSING = "versions_missing", "the scripts folder has no versions/ sub-folder"
    SCRIPTS_UNREADABLE = "scripts_unreadable", "versions/ cannot be listed or read by this user"
    NO_REVISIONS = "no_revisions", "versions/ holds no revision script yet"
    ALEMBIC_LOAD_FAILED = "alembic_load_failed", "Alembic raised while importing the scripts"
    # one script or the graph they form
    SCRIPT_UNREADABLE = "script_unreadable", "a script file cannot be read as UTF-8 text"
    SCRIPT_SYNTAX_ERROR = "script_syntax_error", "a script is not valid Python"
    REVISION_MISSING = "revision_missing", "a script in versions/ declares no revision id"
    REVISION_NOT_LITERAL = "revision_not_literal", "a script's revision id is not a plain string"
    DOWN_REVISION_INVALID = (
        "down_revision_invalid",
        "a script's down_revision is not None, a string or a tuple of strings",
    )
    DUPLICATE_REVISION = "duplicate_revision", "two scripts declare the same revision id"
    DANGLING_DOWN_REVISION = (
        "dangling_down_revision",
        "a down_revision names a revision no script defines",
    )
    REVISION_CYCLE = "revision_cycle", "following down_revision comes back to where it started"
    MULTIPLE_HEADS = "multiple_heads", "two branches of migrations were never merged"
    # the database
    NOT_POSTGRES_URL = "not_postgres_url", "the database URL is not a PostgreSQL URL"
    TIMEOUT = "timeout", "the database, or reading the scripts, took longer than the timeout"
    CONNECT_FAILED = "connect_failed", "the database server refused or dropped the connection"
    AUTH_FAILED = "auth_failed", "the server rejected the user name or password"
    UNKNOWN_DATABASE = "unknown_database", "the database named in the URL does not exist"
    PERMISSION_DENIED = "permission_denied", "the role may not read the version table"
    READ_FAILED = "read_failed", "reading the version table failed for another reason"
    # the verdict: database against scripts
    NEVER_MIGRATED = "never_migrated", "the database has no version table and no other table"
    UNVERSIONED_SCHEMA = (
        "unversioned_schema",
        "the database has tables but no version table (created outside Alembic)",
    )
    VERSION_TABLE_EMPTY = "version_table_empty", "the version table exists but holds no revision"
    PENDING_REVISIONS = "pending_revisions", "the database is behind the scripts' head(s)"
    UNKNOWN_REVISION = "unknown_revision", "the database is on a revision no script defines"
    SCRIPTS_UNAVAILABLE = (
        "scripts_unavailable",
        "the database's revision cannot be compared: the scripts could not be read",
    )
    NOT_CONFIGURED = "not_configured", "no database URL is configured, so nothing was checked"


# The commands for each fix, svc-infra's CLI first (it reads SQL_URL and
# ALEMBIC_VERSION_* itself), then plain Alembic.
CMD = {
    "current": ("svc-infra sql current", "alembic current"),
    "history": ("svc-infra sql history", "alembic history --verbose"),
    "upgrade": ("svc-infra sql upgrade head", "alembic upgrade head"),
    "stamp": ("svc-infra sql stamp head", "alembic stamp head"),
    "merge": ('svc-infra sql merge-heads -m "merge heads"', 'alembic merge heads -m "merge heads"'),
    "init": ("svc-infra sql init", "alembic init migrations"),
}

# Autogenerate must find nothing to do when the schema already is head.
VERIFY_SCHEMA = (
    "alembic check   # exits non-zero if the models and the schema differ\n"
    "# or: svc-infra sql revision -m verify --autogenerate, and check the new file is empty "
    "(then delete it)"
)


def commands(*names: str) -> str:
    """The svc-infra command for each step, with the plain Alembic one beside it."""
    return "\n".join(f"{sv}   # or: {al}" for sv, al in (CMD[n] for n in names))


C = MigrationsCause
_FIX_PERMISSIONS = "Fix the permissions: chmod -R a+rX {versions}"
_DB_CHECK = "Run svc_nb.db.check(url) for a full connection diagnosis."

# Placeholders are filled by svc_nb._explain.explain from what was observed.
EXPLAIN: dict[MigrationsCause, Explanation] = {
    C.SCRIPTS_MISSING: Explanation(
        Status.FAIL,
        "scripts folder {location!r} does not exist",
        "Looked for Alembic's script_location at {resolved}. svc-infra keeps it in `migrations/` "
        "next to alembic.ini; a relative path is taken from the current directory ({cwd}).",
        "Run from the project root, or pass script_location='path/to/migrations' (diagnose reads "
        "SVC_NB_MIGRATIONS). No migrations yet? Create the folder:\n" + commands("init"),
    ),
    C.SCRIPTS_NOT_A_FOLDER: Explanation(
        Status.FAIL,
        "script_location {location!r} is a file, not a folder",
        "",
        "Point script_location at the folder holding env.py and versions/.",
    ),
    C.VERSIONS_MISSING: Explanation(
        Status.FAIL,
        "{location!r} has no versions/ folder",
        "Alembic reads revision scripts from <script_location>/versions/.",
        "Check script_location (it should hold env.py and versions/), or create one:\n"
        + commands("init"),
    ),
    C.SCRIPTS_UNREADABLE: Explanation(
        Status.FAIL, "cannot read {versions}: {error}", "", _FIX_PERMISSIONS
    ),
    C.NO_REVISIONS: Explanation(
        Status.WARN,
        "0 revision(s) in {location}, head(s): none",
        "versions/ holds no revision script yet.",
        "Create the first one: svc-infra sql revision -m init --autogenerate   "
        "# or: alembic revision --autogenerate -m init",
    ),
    C.ALEMBIC_LOAD_FAILED: Explanation(
        Status.FAIL,
        "Alembic cannot load the scripts: {error}",
        "Alembic's ScriptDirectory raised {error_type} while importing the scripts in "
        "{location}/versions. Alembic executes each script, so an import error in one of them "
        "(a model or helper it imports) stops every command.",
        "Run `alembic history` to see the full traceback and fix the script it names.",
    ),
    C.SCRIPT_UNREADABLE: Explanation(
        Status.FAIL,
        "cannot read {name}: {error}",
        "",
        "Fix or remove {path} (Alembic loads every .py file in versions/).",
    ),
    C.SCRIPT_SYNTAX_ERROR: Explanation(
        Status.FAIL,
        "{name} is not valid Python{where}: {error}",
        "",
        "Fix or remove {path} (Alembic loads every .py file in versions/).",
    ),
    C.REVISION_MISSING: Explanation(
        Status.FAIL,
        '{name} declares no `revision = "…"`, so Alembic cannot load it',
        "",
        "Fix or remove {path} (Alembic loads every .py file in versions/).",
    ),
    C.REVISION_NOT_LITERAL: Explanation(
        Status.FAIL,
        "{name}: `revision` is not a plain string literal",
        "svc_nb reads the scripts without running them, so it only understands a literal id.",
        "Write the id as a string literal in {path}.",
    ),
    C.DOWN_REVISION_INVALID: Explanation(
        Status.FAIL,
        "{name}: `down_revision` is not None, a string or a tuple of strings",
        "",
        "Fix down_revision in {path}: None for the first revision, else the id(s) it follows.",
    ),
    C.DUPLICATE_REVISION: Explanation(
        Status.FAIL,
        "revision id {revision} is defined twice ({first}, {second})",
        "Usually a copied script whose revision id was not changed.",
        "Give {second} a fresh id (e.g. python -c 'import uuid; print(uuid.uuid4().hex[:12])') "
        "and fix the down_revision of the scripts after it.",
    ),
    C.DANGLING_DOWN_REVISION: Explanation(
        Status.FAIL,
        "{name}: revision {revision} revises {missing}, which no script defines",
        "Its down_revision points nowhere: the file it named was deleted or renamed, or the id was "
        "mistyped or came from another branch. Alembic refuses to load the graph ('Revision "
        "{missing} referenced from … is not present').",
        "Set down_revision in {path} to the revision it really follows (see `alembic history`), "
        "or restore the missing script.",
    ),
    C.REVISION_CYCLE: Explanation(
        Status.FAIL,
        "revision graph has a cycle: {cycle}",
        "Following down_revision from these revisions comes back to where it started, so there "
        "is no order to apply them in. Usually a down_revision was edited by hand or two files "
        "were swapped during a rebase.",
        "Edit the down_revision of one of these files so the chain leads back to a base: {files}",
    ),
    C.MULTIPLE_HEADS: Explanation(
        Status.FAIL,
        "{count} heads: {heads}",
        "Two branches each added a migration on the same parent (typically two merged pull "
        "requests). `alembic upgrade head` refuses to run ('Multiple head revisions are "
        "present'); a merge revision joins them without changing the schema.",
        commands("merge", "upgrade"),
    ),
    C.NOT_POSTGRES_URL: Explanation(
        Status.FAIL,
        "not a PostgreSQL URL ({error}): {url}",
        "",
        "Pass the URL the app uses (SQL_URL): postgresql://, postgres:// or postgresql+asyncpg://…",
    ),
    C.TIMEOUT: Explanation(
        Status.FAIL,
        "database did not answer within {timeout:g} s",
        "Connecting or reading the version table timed out.",
        "Run svc_nb.db.check(url) to diagnose the connection, or raise timeout=.",
    ),
    C.CONNECT_FAILED: Explanation(
        Status.FAIL, "cannot read the version table {version_table}: {error}", "", _DB_CHECK
    ),
    C.AUTH_FAILED: Explanation(
        Status.FAIL,
        "cannot read the version table {version_table}: {error}",
        "The server rejected the role or its password.",
        "Use the credentials the app uses (SQL_URL). " + _DB_CHECK,
    ),
    C.UNKNOWN_DATABASE: Explanation(
        Status.FAIL,
        "cannot read the version table {version_table}: {error}",
        "The database named after the last '/' of the URL does not exist on this server.",
        "Fix the database name in the URL, or create it (CREATE DATABASE …). " + _DB_CHECK,
    ),
    C.PERMISSION_DENIED: Explanation(
        Status.FAIL,
        "cannot read the version table {version_table}: {error}",
        "The role connects, but may not read the version table.",
        "Grant read access: GRANT SELECT ON {version_table} TO <the app's role>;",
    ),
    C.READ_FAILED: Explanation(
        Status.FAIL, "cannot read the version table {version_table}: {error}", "", _DB_CHECK
    ),
    C.NEVER_MIGRATED: Explanation(
        Status.FAIL,
        "no version table {version_table}: the database was never migrated",
        "There is no {version_table} table and no other table: this database was never migrated (a "
        "fresh database, or the app points at the wrong one).{note}",
        commands("upgrade"),
    ),
    C.UNVERSIONED_SCHEMA: Explanation(
        Status.FAIL,
        "no version table {version_table}: the database was never migrated",
        "There is no {version_table} table, but the database already has {user_tables} table(s): the "
        "schema was created outside Alembic (Base.metadata.create_all, a restore, a manual "
        "script). `upgrade head` would try to create them again and fail with 'relation already "
        "exists'. If the tables match the models at head, stamping records that without running "
        "any DDL.{note}",
        "Check the schema matches head first (autogenerate must produce an empty revision):\n"
        + VERIFY_SCHEMA
        + "\nthen record it:\n"
        + commands("stamp"),
    ),
    C.VERSION_TABLE_EMPTY: Explanation(
        Status.WARN,
        "version table is empty: all {count} revision(s) pending",
        "Current: base (no revision). Pending, in the order they will run: {pending}.{note}",
        "{fix}",
    ),
    C.PENDING_REVISIONS: Explanation(
        Status.WARN,
        "database is behind: {count} revision(s) pending",
        "Current: {current}. Pending, in the order they will run: {pending}.{note}",
        "{fix}",
    ),
    C.UNKNOWN_REVISION: Explanation(
        Status.FAIL,
        "database is on revision {unknown}, which no script defines (out of sync)",
        "{version_table} says {unknown}; the scripts in {location}/versions know {known} revision(s), "
        "heads: {heads}. Usual causes: (1) this checkout is older than the code that migrated "
        "the database (a newer branch or deploy ran its migrations) — use that code; (2) scripts "
        "were deleted, renamed or squashed; (3) another app shares this database and version "
        "table — give each app its own ALEMBIC_VERSION_TABLE. `stamp head` is right only when "
        "the schema really is what head describes (after squashing, or after create_all from the "
        "same models): it rewrites the version row and runs no DDL. If the schema differs, "
        "stamping hides it: later migrations fail, or columns are silently missing.{note}",
        "Find where the revision comes from: `git log --all -S '{first_unknown}' -- {location}`. "
        "Only if the schema matches head (autogenerate gives an empty revision):\n"
        + VERIFY_SCHEMA
        + "\n"
        + commands("stamp"),
    ),
    C.SCRIPTS_UNAVAILABLE: Explanation(
        Status.SKIP,
        "database is on {current}; cannot compare it without readable scripts",
        "The scripts folder could not be read (see migrations.scripts).",
        "Fix the scripts folder first, then check again.",
    ),
    C.NOT_CONFIGURED: Explanation(
        Status.SKIP,
        "no database URL configured, Alembic state not checked",
        "Set SQL_URL (or DB_URL, DATABASE_URL…) to check the database's revision.",
    ),
}
