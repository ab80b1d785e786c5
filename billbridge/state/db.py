"""Opening the state store: SQLite file by default, PostgreSQL by URL; migrated by Alembic."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from billbridge.errors import BillbridgeError

DEFAULT_URL = "sqlite:///billbridge-state.db"


class RawJSON(str):
    """JSON text that is already serialised (e.g. written by DuckDB): stored as it is in
    JSON columns instead of being encoded a second time."""

    __slots__ = ()


def json_text(value: Any) -> str:
    """The engines' JSON serialiser: RawJSON untouched, other values through orjson (several
    times json.dumps' speed; a run writes tens of thousands of small key objects)."""
    if isinstance(value, RawJSON):
        return str(value)
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


MIGRATIONS = Path(__file__).with_name("migrations")


#: SQLite page size of a new state store file, and the page cache per connection
PAGE_SIZE = 32 * 1024
CACHE_KIB = 64 * 1024
#: seconds a SQLite connection waits for another process's lock before giving up
BUSY_TIMEOUT_S = 30


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # Larger pages for a new file (an existing one keeps its own): exception rows carry
    # about half a kilobyte of JSON each, and a run writes tens of thousands of them, so
    # 4 KiB pages meant many more page splits and WAL frames. Set before WAL, which fixes it.
    cur.execute(f"PRAGMA page_size={PAGE_SIZE}")
    # WAL lets readers go on while a run writes; busy_timeout waits for a lock instead of
    # failing at once when two processes share the file.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    # a run's pages stay in memory until its commit instead of spilling to the WAL midway
    cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cur.close()


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None: not SQLite, in memory, or a ``file:`` URI)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or parsed.query.get("uri") in ("true", "1"):
        return None
    return Path(database).expanduser()


class _PipelineCleanupNoise(logging.Filter):
    """psycopg's warning that ending a pipeline failed too, after the connection was lost:
    the error that lost it is raised (and shown) anyway, so the extra line only repeats it
    as ``error ignored terminating <psycopg.Pipeline [BAD] ...>``."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored terminating")


_PSYCOPG_FILTER = _PipelineCleanupNoise()


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """Create an engine. ``schema`` (PostgreSQL only) isolates tests in their own schema."""
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_S}, json_serializer=json_text
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    logging.getLogger("psycopg").addFilter(_PSYCOPG_FILTER)  # once: filters are a set
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    opts: dict[str, Any] = {"pool_pre_ping": True, "json_serializer": json_text}
    if schema:
        opts["connect_args"] = {"options": f"-csearch_path={schema}"}
    return create_engine(url, **opts)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


_HEADS: set[str] = set()


def _at_heads(engine: Engine, cfg: Config) -> bool:
    """Whether the store is at the newest revision already (a plain read, no lock)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    if not _HEADS:
        _HEADS.update(ScriptDirectory.from_config(cfg).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == _HEADS


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (all heads). Processes opening a store at
    once migrate one after the other (``lock_migrations``, taken by the migration
    environment): two runs on a new database both created alembic_version before."""
    cfg = alembic_config(engine)
    if _at_heads(engine, cfg):
        return  # nothing to do: no lock taken (a SQLite run writing does not hold us up)
    command.upgrade(cfg, "heads")


def lock_key(name: str) -> int:
    """A PostgreSQL advisory lock key (signed 64 bits) for ``name``."""
    digest = hashlib.sha256(f"billbridge:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_for_writing(conn: Connection | Session, names: Iterable[str] = ()) -> None:
    """Serialise read-then-write transactions: call first in the transaction, before it
    reads what it will change. PostgreSQL: a transaction-scoped advisory lock per name
    (sorted, so two callers never wait on each other crosswise), released at commit or
    rollback. SQLite: the transaction takes the database's write lock now (BEGIN
    IMMEDIATE), waiting for another writer up to the busy timeout, so what it reads cannot
    change before it writes (names do not matter: SQLite has one writer)."""
    if isinstance(conn, Session):
        conn = conn.connection()
    dialect = conn.dialect.name
    if dialect == "postgresql":
        for name in sorted(set(names)):
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(name)})
    elif dialect == "sqlite":
        raw = conn.connection.driver_connection
        if raw is not None and not raw.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def lock_migrations(conn: Connection) -> None:
    """The migration environment's lock (see ``migrate``), held until it commits."""
    lock_for_writing(conn, ["migrations"])


class StateStoreUnavailable(BillbridgeError):
    """The state store cannot be opened or used (server down, wrong URL or password,
    unwritable file, locked by another process), or refused a statement (a value it cannot
    hold, a constraint): one line, never the SQL or its parameters."""


class StateStoreConflict(StateStoreUnavailable, IntegrityError):
    """A constraint the store enforces was violated (a duplicate key written concurrently):
    still an ``IntegrityError`` for the callers that expect one when another process won
    the race, but shown as one line without the SQL or its parameters."""

    def __init__(self, message: str, orig: Exception | None) -> None:
        Exception.__init__(self, message)
        self.message = message
        self.statement = None
        self.params = None
        self.orig = orig
        self.hide_parameters = True
        self.connection_invalidated = False
        self.detail = []
        self.ismulti = None

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Any:
        return (self.__class__, (self.message, None))


def shown_url(url: str) -> str:
    """``url`` as it may be shown: any password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable state store URL>"


def store_error(exc: DBAPIError, url: str, *, opening: bool) -> StateStoreUnavailable:
    """One line for a driver error on the store at ``url`` (password masked): a lock held
    by another process is said so, with how long we waited; other errors give the driver's
    first line (no SQL, no parameters: the data may be confidential, and PostgreSQL's
    DETAIL line, which quotes the values, is left out too)."""
    shown = shown_url(url)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig and str(exc.orig).strip() else ""
    reason = reason or type(exc.orig or exc).__name__
    if (
        isinstance(exc, OperationalError)
        and "locked" in reason.lower()
        and url.startswith("sqlite")
    ):
        return StateStoreUnavailable(
            f"state store {shown} is locked by another process (waited {BUSY_TIMEOUT_S} s); "
            "try again when that process has finished"
        )
    if opening:
        message = f"cannot open the state store {shown}: {reason}"
    else:
        message = f"state store {shown} failed: {reason}"
    if isinstance(exc, IntegrityError):
        return StateStoreConflict(message, exc.orig)
    return StateStoreUnavailable(message)


class Store:
    """A migrated state store and its session factory.

    ``create=False``: refuse a SQLite file that does not exist instead of creating it (and
    its folders): commands that only read or work existing exceptions would otherwise
    silently open a new, empty store when the URL is mistyped."""

    def __init__(
        self, url: str = DEFAULT_URL, *, schema: str | None = None, create: bool = True
    ) -> None:
        self.url = url
        path = None if create else sqlite_file(url)
        if path is not None and not path.is_file():
            raise StateStoreUnavailable(
                f"no state store at {path.absolute()} (check --state-url, BILLBRIDGE_STATE_URL "
                "or the config's state.url; 'billbridge reconcile run' creates it)"
            )
        self.engine = make_engine(url, schema=schema)
        try:
            if schema:
                with self.engine.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            migrate(self.engine)
        except DBAPIError as exc:
            self.engine.dispose()
            raise store_error(exc, str(self.engine.url), opening=True) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self, *, durable: bool = True) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any error.

        ``durable=False``: the commit does not wait for the disk (SQLite: synchronous=NORMAL
        under WAL; PostgreSQL: synchronous_commit off), for this transaction only. The store
        stays consistent, but a power cut or OS crash just after may undo the transaction.
        Only for data the next run derives again from its sources (a run's exceptions: on
        SQLite their fsync was a tenth of recording 20k of them), never for cursors, outbox
        states or what a user did.

        A driver error (store locked by another process, server gone, disk full, a value
        the store cannot hold, a constraint) becomes :class:`StateStoreUnavailable`
        (:class:`StateStoreConflict`, an ``IntegrityError`` too, for a constraint): one line
        naming the store, password masked, without the SQL or its parameters."""
        try:
            with self._session(durable=durable) as session:
                yield session
        except DBAPIError as exc:
            raise store_error(exc, self.url, opening=False) from None

    @contextmanager
    def _session(self, *, durable: bool) -> Iterator[Session]:
        if durable or self.dialect not in ("sqlite", "postgresql"):
            with self._sessions.begin() as session:
                yield session
        elif self.dialect == "postgresql":
            with self._sessions.begin() as session:
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                yield session
        else:
            with self._sqlite_relaxed() as session:
                yield session

    @contextmanager
    def _sqlite_relaxed(self) -> Iterator[Session]:
        """A session on a connection whose commit is not fsynced. SQLite refuses to change
        the level inside a transaction, so it is set before the session begins and put back
        after it ends; a connection that cannot be put back is discarded, not pooled."""
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            if raw is None:  # pragma: no cover - pysqlite always has one
                raise RuntimeError("no SQLite connection")
            (level,) = raw.execute("PRAGMA synchronous").fetchone()
            raw.execute("PRAGMA synchronous=NORMAL")
            try:
                with Session(bind=conn, expire_on_commit=False) as session, session.begin():
                    yield session
            finally:
                try:
                    raw.execute(f"PRAGMA synchronous={int(level)}")
                except Exception:
                    conn.invalidate()
                    raise

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()
