"""``Store``: the bot's source of truth, opened once per process.

It is assembled from query mixins, one per concern (intake, jobs, drafts,
approvals, stats, retention); this module owns opening (engine + migrations) and
closing.  Each method runs one short transaction, so a ``Store`` is safe to
share between all the tasks of a process, and several processes (on
PostgreSQL, several hosts) can share one database.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from app.store.approvals import ApprovalQueries
from app.store.briefs import BriefQueries
from app.store.commitments import CommitmentQueries
from app.store.drafting_job import DraftingJobQueries
from app.store.drafts import DraftQueries
from app.store.engine import create_store_engine
from app.store.incidents import IncidentQueries
from app.store.intake import IntakeQueries
from app.store.jobs import JobQueries
from app.store.migrate import migrate_engine
from app.store.report import ReportQueries
from app.store.retention import RetentionQueries
from app.store.sessions import Clock
from app.store.stats import StatsQueries
from app.store.tables import utcnow


class StoreUnavailable(Exception):
    """The database cannot be reached or migrated; the message says which and what to check."""


class Store(IntakeQueries, JobQueries, DraftingJobQueries, DraftQueries, ApprovalQueries,
            StatsQueries, RetentionQueries, CommitmentQueries, IncidentQueries, BriefQueries, ReportQueries):
    """Dedupe, complaints, the job queue, drafts, approvals, stats and retention, in one database."""

    @classmethod
    async def open(
        cls, url: str, *, migrate: bool = True, clock: Clock | None = None, echo: bool = False,
    ) -> Store:
        """Connect to ``url`` (as a user writes it) and bring the schema to head.

        ``clock`` returns the current UTC time; tests pass a controllable one.
        """
        engine = create_store_engine(url, echo=echo)
        try:
            if migrate:
                await migrate_engine(engine)
        except (OSError, SQLAlchemyError) as exc:
            await engine.dispose()
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StoreUnavailable(
                f"cannot open the database at {engine.url.render_as_string(hide_password=True)}: "
                f"{reason}. Check TACTFUL_DATABASE_URL and that the server is running."
            ) from exc
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, clock=clock or utcnow)

    async def close(self) -> None:
        await self._engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
