"""The store: SQLAlchemy (async) on SQLite or PostgreSQL, migrated by Alembic at start.

It is the source of truth of the bot: cards survive restarts, an acked event
is a durable job any process can finish, and dedupe, job claims and the
approve claim are atomic in the database, never in process memory.
Imports nothing from slack_* or openai.
"""

from app.store.engine import DatabaseURLError, async_url, create_store_engine
from app.store.migrate import migrate
from app.store.records import (
    AcceptedJob,
    AlreadyDelivered,
    CategoryCount,
    Complaint,
    ComplaintSource,
    Decision,
    Draft,
    DraftStateError,
    Job,
    JobClaim,
    JobKind,
    NewComplaint,
    SendClaim,
    Stats,
)
from app.store.store import Store, StoreUnavailable
from app.store.tables import JobState

__all__ = [
    "AcceptedJob",
    "AlreadyDelivered",
    "CategoryCount",
    "Complaint",
    "ComplaintSource",
    "DatabaseURLError",
    "Decision",
    "Draft",
    "DraftStateError",
    "Job",
    "JobClaim",
    "JobKind",
    "JobState",
    "NewComplaint",
    "SendClaim",
    "Stats",
    "Store",
    "StoreUnavailable",
    "async_url",
    "create_store_engine",
    "migrate",
]
