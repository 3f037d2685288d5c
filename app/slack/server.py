"""Running the bot: the Bot itself, HTTP mode (aiohttp), /healthz and /metrics.

Socket Mode, which runs the same Bot over Slack's socket, is in ``socket_mode.py``.

The HTTP server listens at once and answers /healthz with 503 until the
store is migrated, ``auth.test`` has passed and the job worker runs; then
200.  Slack requests are dispatched to Bolt, which acks before any LLM work.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import aiohttp
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from app import metrics
from app.domain.incidents import LexicalEmbedder
from app.domain.models import BriefOutput, BriefPartOutput, DraftOutput, FirstDraftOutput
from app.llm import UsageRecord
from app.runtime import Drafting, build_drafting
from app.settings import Settings, SettingsError
from app.slack.agents import AgentDirectory
from app.slack.app import build_app
from app.slack.client import build_web_client, http_session
from app.slack.deps import Background, ListenerDeps
from app.slack.gateway import SlackGateway
from app.slack.pacing import SlackPacer
from app.slack.playbook_alerts import PlaybookAlerts, home_section
from app.store import Store, StoreUnavailable
from app.store.migrate import MigrationFailed, migrate_in_child
from app.usecases import Desk, DeskSettings, build_desk
from app.usecases.incidents import ServerEmbedder

log = structlog.get_logger(__name__)

UPKEEP_EVERY_S = 60.0
# Slack retries an event for about an hour; a day of memory is ample.
EVENT_MEMORY = timedelta(days=1)


def _count_llm_call(record: UsageRecord) -> None:
    metrics.LLM_SECONDS.observe(record.latency_ms / 1000)
    metrics.LLM_CALLS.labels(ok=str(record.ok).lower()).inc()
    metrics.LLM_TOKENS.labels(type="prompt").inc(record.prompt_tokens)
    metrics.LLM_TOKENS.labels(type="completion").inc(record.completion_tokens)


async def _check_review_channel(client: AsyncWebClient, settings: Settings) -> None:
    """Drafts must never be visible to customers: refuse a review channel shared with them."""
    try:
        info = await client.conversations_info(channel=settings.review_channel or "")
    except SlackApiError as exc:
        log.warning(
            "review_channel_unchecked",
            channel=settings.review_channel,
            error=exc.response.get("error"),
            hint="invite tactful to the review channel",
        )
        return
    channel = info.get("channel") or {}
    if channel.get("is_ext_shared") or channel.get("is_pending_ext_shared"):
        raise SettingsError(
            f"TACTFUL_REVIEW_CHANNEL {settings.review_channel} is shared with another organization "
            "(Slack Connect): customers could read the drafts. Use an internal channel of agents."
        )


class Bot:
    """One running instance: store, pipelines, Slack gateway, use cases, job runner, Bolt app."""

    def __init__(
        self, settings: Settings, *, socket_mode: bool = False, pacer: SlackPacer | None = None,
        migrate_in_child: bool = False,
    ) -> None:
        self.settings = settings
        # serve: migrate in a child process, so the server never holds Alembic in memory.
        self.migrate_in_child = migrate_in_child
        self.socket_mode = socket_mode
        # One pacer for all of this instance's clients: Slack counts the app's calls together.
        self.pacer = pacer or SlackPacer()
        self.ready = False
        self.store: Store | None = None
        self.drafting: Drafting | None = None
        self.desk: Desk | None = None
        self.background = Background()
        secret = settings.slack_signing_secret
        self.verifier = (
            SignatureVerifier(secret.get_secret_value()) if secret and not socket_mode else None
        )
        # Names this process in job leases, so a lease outlives a crash but not a restart.
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.app: AsyncApp | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._upkeep_task: asyncio.Task[None] | None = None
        self._playbook_task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    async def _open_store(self, url: str) -> Store:
        migrated = False
        if self.migrate_in_child:
            try:
                migrated = await migrate_in_child(url)
            except MigrationFailed as exc:
                raise StoreUnavailable(str(exc)) from None
        return await Store.open(url, migrate=not migrated)

    async def start(self) -> None:
        self._http = http_session(self.settings)
        try:
            await self._start(self.settings, self._http)
        except BaseException:
            await self._http.close()
            raise

    async def _start(self, settings: Settings, http: aiohttp.ClientSession) -> None:
        # Checks that can refuse to start come first, before anything else needs closing.
        client = build_web_client(settings, pacer=self.pacer, session=http)
        try:
            auth = await client.auth_test()
        except SlackApiError as exc:
            raise SettingsError(
                f"Slack refused SLACK_BOT_TOKEN ({exc.response.get('error')}) at {settings.slack_api_url}: "
                "check the token on your app's OAuth & Permissions page."
            ) from None
        await _check_review_channel(client, settings)
        drafting = build_drafting(settings)
        drafting.llm.on_usage = _count_llm_call
        drafting.llm.warm_up([FirstDraftOutput, DraftOutput, BriefOutput, BriefPartOutput])
        try:
            store = await self._open_store(settings.database_url)
        except BaseException:
            await drafting.aclose()
            raise
        self.store, self.drafting = store, drafting
        agents = AgentDirectory(client, settings.agents, home_team_id=auth.get("team_id"))
        await agents.warm()
        review_channel = settings.review_channel
        assert review_channel, "serve requires TACTFUL_REVIEW_CHANNEL"
        gateway = SlackGateway(
            client,
            agents,
            review_channel=review_channel,
            playbook=drafting.playbook.current,
            send_client=build_web_client(
                settings, pacer=self.pacer, session=http, for_replies=True
            ),
            bot_user_id=auth.get("user_id"),
            bot_id=auth.get("bot_id"),
            workspace_url=auth.get("url"),
        )
        self.desk = build_desk(
            store=store,
            slack=gateway,
            drafting=drafting.pipeline,
            briefing=drafting.briefing,
            playbook=drafting.playbook.current,
            settings=DeskSettings(
                watched_channels=settings.support_channels,
                relay_channels=settings.relay_channels,
                send_as=settings.send_as,
                follow_up_hours=settings.follow_up_hours,
                time_zone=settings.time_zone,
                channel_time_zones=settings.channel_time_zones,
                remind_before_minutes=settings.remind_before_minutes,
                concurrency=settings.max_concurrent_drafts,
                lease_s=settings.job_lease_s,
                max_message_chars=settings.max_message_chars,
                max_history_chars=settings.max_history_chars,
                review_channel=review_channel,
                incident_window_minutes=settings.incident_window_minutes,
                incident_threshold=settings.incident_threshold,
                incident_min_size=settings.incident_min_size,
            ),
            worker_id=self.worker_id,
            home_team_id=auth.get("team_id"),
            incident_cards=gateway,
            embedder=(
                ServerEmbedder(drafting.llm, settings.embedding_model)
                if settings.embedding_model else LexicalEmbedder()
            ),
        )
        deps = ListenerDeps(
            desk=self.desk,
            store=store,
            playbook=drafting.playbook.current,
            review_channel=review_channel,
            bot_user_id=auth.get("user_id"),
            background=self.background,
            managers=frozenset(settings.managers),
            playbook_problems=partial(home_section, drafting.playbook, settings.prompts_dir),
        )
        secret = settings.slack_signing_secret
        self.app = build_app(
            client,
            deps,
            agents,
            signing_secret=secret.get_secret_value() if secret else None,
            socket_mode=self.socket_mode,
        )
        self._worker_task = asyncio.create_task(self.desk.jobs.run())
        self._upkeep_task = asyncio.create_task(self._upkeep())
        # Playbooks that say ``kind: relay`` make their channels relay channels.
        self.desk.intake.channels.add_relay(drafting.playbook.relay_channels())
        unwatched = drafting.playbook.channels() - self.desk.intake.channels.watched
        if unwatched:
            # Routing does not watch: a customer channel is listed in TACTFUL_SUPPORT_CHANNELS.
            log.warning("playbook_channels_not_watched", channels=sorted(unwatched))
        alerts = (
            PlaybookAlerts(
                client, drafting.playbook, channel=settings.manager_channel,
                root=settings.prompts_dir,
            )
            if settings.manager_channel
            else None
        )
        self._playbook_task = asyncio.create_task(self._watch_playbooks(alerts))
        self.ready = True
        log.info(
            "tactful_ready",
            team=auth.get("team_id"),
            watching=settings.support_channels,
            review_channel=settings.review_channel,
            prompt_version=drafting.playbook.current().version,
        )

    async def _upkeep(self) -> None:
        """Every minute: forget old event ids, settle sends, remind commitments, delete expired data."""
        assert self.store is not None and self.desk is not None
        while True:
            await asyncio.sleep(UPKEEP_EVERY_S)
            try:
                await self.store.prune_events(before=datetime.now(UTC) - EVENT_MEMORY)
                await self.desk.settle_sends()
                await self.desk.reminders()
                await self.store.purge_older_than(
                    datetime.now(UTC) - timedelta(days=self.settings.retention_days)
                )
                await self.store.purge_incidents(
                    before=datetime.now(UTC) - timedelta(days=self.settings.retention_days)
                )
                await self.store.purge_briefs(
                    before=datetime.now(UTC) - timedelta(days=self.settings.retention_days)
                )
                # Shared by every instance on one store: a growing queue means add instances.
                metrics.JOBS_QUEUED.set(await self.store.pending_job_count())
            except Exception:
                log.exception("upkeep_failed")

    async def _watch_playbooks(self, alerts: PlaybookAlerts | None) -> None:
        """Reload edited playbook files and tell managers what was rejected, or fixed."""
        assert self.drafting is not None and self.desk is not None
        router = self.drafting.playbook
        while True:
            await asyncio.sleep(self.settings.playbook_reload_s)
            try:
                errors = router.check()
                self.desk.intake.channels.add_relay(router.relay_channels())
                if alerts is not None:
                    await alerts.report(errors)
            except Exception:
                log.exception("playbook_check_failed")

    async def stop(self) -> None:
        self.ready = False
        for task in (self._upkeep_task, self._playbook_task):
            if task:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self.desk:
            await self.desk.jobs.stop()
        if self._worker_task:
            self._worker_task.cancel()
            await asyncio.gather(self._worker_task, return_exceptions=True)
        await self.background.drain()
        if self.store:
            await self.store.close()
        if self.drafting:
            await self.drafting.aclose()
        if self._http:
            await self._http.close()


def http_app(bot: Bot) -> web.Application:
    async def slack_events(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        if not bot.ready or bot.app is None or bot.desk is None:
            return web.Response(status=503, text="starting")
        # Drafting jobs step aside while Slack waits for this ack (app/usecases/ack_first.py).
        with bot.desk.ack_first.acking():
            return await _answer(request, started)

    async def _answer(request: web.Request, started: float) -> web.StreamResponse:
        assert bot.app is not None
        body = await request.text()
        # Checked before Bolt parses anything: an unsigned body is never parsed or logged.
        if bot.verifier is not None and not _signed_by_slack(bot.verifier, request, body):
            metrics.SLACK_REQUESTS.labels(kind=_kind(request), status="401").inc()
            log.warning("request_signature_invalid", length=len(body))
            return web.Response(status=401, text="invalid signature")
        retry = request.headers.get("X-Slack-Retry-Num")
        # Listeners run in tasks created inside dispatch, so they inherit these ids.
        with structlog.contextvars.bound_contextvars(
            request_id=uuid.uuid4().hex[:12], slack_retry=retry
        ):
            try:
                bolt_request = AsyncBoltRequest(
                    body=body, query=request.query_string, headers=dict(request.headers)
                )
            except ValueError:
                return web.Response(status=400, text="malformed payload")
            response = await bot.app.async_dispatch(bolt_request)
        count_ack(_kind(request), response.status, started)
        return await to_aiohttp_response(response)

    async def healthz(_: web.Request) -> web.Response:
        if bot.ready and bot.drafting is not None:
            playbook = bot.drafting.playbook
            # A manager's bad edit is served nowhere; say so where operators look.
            return web.json_response({
                "status": "ok",
                "prompt_version": playbook.current().version,
                "prompt_errors": [str(error) for error in playbook.last_errors],
            })
        return web.json_response({"status": "starting"}, status=503)

    async def metrics_page(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    web_app = web.Application(client_max_size=2 * 1024 * 1024)
    if not bot.socket_mode:
        # Socket Mode turns request signing off: an HTTP door to Bolt would take forged clicks.
        web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics_page)
    return web_app


def _signed_by_slack(verifier: SignatureVerifier, request: web.Request, body: str) -> bool:
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not timestamp.isdigit() or not signature:
        return False
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


def count_ack(kind: str, status: int, started: float) -> None:
    """One Slack request answered, over HTTP or the socket: the same two metrics."""
    metrics.ACK_SECONDS.observe(time.perf_counter() - started)
    metrics.SLACK_REQUESTS.labels(kind=kind, status=str(status)).inc()


def _kind(request: web.Request) -> str:
    content_type = request.headers.get("Content-Type", "")
    return "json" if "json" in content_type else "form"


async def until_signalled() -> None:
    """Wait for SIGTERM (docker stop) or SIGINT, so shutdown closes the store cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("shutting_down")


def freeze_start_up_heap() -> None:
    """Take what start-up built out of the garbage collector's sight.

    Start-up leaves ~200k objects that live as long as the bot (modules,
    compiled prompts, schemas).  Frozen, they are no longer walked by the full
    collections a burst triggers: one took 0.15 s of a 2.6 s burst's CPU.
    """
    gc.collect()
    gc.freeze()


async def serve_http(settings: Settings, *, host: str, port: int) -> None:
    bot = Bot(settings, migrate_in_child=True)
    runner = web.AppRunner(http_app(bot), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("http_listening", host=host, port=port, events_path="/slack/events")
    try:
        await bot.start()
        freeze_start_up_heap()
        await until_signalled()
    finally:
        await bot.stop()
        await runner.cleanup()
