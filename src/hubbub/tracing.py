"""Traces: spans around a send's group commit, the fan-out and `sync`, and (with the
optional extra `hubbub[otel]`) the HTTP requests, SQL statements and Redis commands.

At the bottom of the flow with config, metrics and logs: any layer may open a span. The
composition root builds one `Tracing` per node. Off by default: unless the standard
`OTEL_TRACES_EXPORTER` names an exporter, `NoTracing` hands back one shared no-op
context for every span, nothing of OpenTelemetry is imported, and a span costs a method
call. On, `hubbub.otel` configures the OpenTelemetry SDK from the standard `OTEL_*`
variables (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_SAMPLER`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

# The exporters `OTEL_TRACES_EXPORTER` may name ("none", or unset, is off).
EXPORTERS = ("otlp", "console")


class TracingUnavailable(RuntimeError):
    """Traces were asked for but cannot be given (an unknown exporter, or the optional
    OpenTelemetry packages are not installed)."""


class Tracing(Protocol):
    @property
    def enabled(self) -> bool: ...

    def span(self, name: str, **attributes: str | int) -> AbstractContextManager[object]:
        """A span named `name` under the current one, current while the block runs."""

    def current(self) -> object | None:
        """The current trace context, to carry into work another task does for it."""

    def batch_span(
        self, name: str, parents: Sequence[object | None], **attributes: str | int
    ) -> AbstractContextManager[object]:
        """A span doing the work of several callers (a group commit): under the first
        caller's context, linked to every caller's."""

    def instrument_app(self, app: Any) -> None:
        """Trace the FastAPI app's requests (before it serves its first)."""

    def instrument_stores(self, engines: Sequence[Any], redis: Any | None) -> None:
        """Trace these SQLAlchemy engines' statements and this Redis client's commands."""

    def shutdown(self) -> None:
        """Undo the instrumentation and export what is left."""


_NO_SPAN: AbstractContextManager[object] = nullcontext()


class NoTracing:
    """Traces off: every span is the one shared no-op context."""

    @property
    def enabled(self) -> bool:
        return False

    def span(self, name: str, **attributes: str | int) -> AbstractContextManager[object]:
        return _NO_SPAN

    def current(self) -> object | None:
        return None

    def batch_span(
        self, name: str, parents: Sequence[object | None], **attributes: str | int
    ) -> AbstractContextManager[object]:
        return _NO_SPAN

    def instrument_app(self, app: Any) -> None:
        return None

    def instrument_stores(self, engines: Sequence[Any], redis: Any | None) -> None:
        return None

    def shutdown(self) -> None:
        return None


def tracing_from_environment(environ: Mapping[str, str]) -> Tracing:
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter in ("", "none"):
        return NoTracing()
    if exporter not in EXPORTERS:
        raise TracingUnavailable(
            f"OTEL_TRACES_EXPORTER={exporter!r}: hubbub exports traces with "
            + " or ".join(EXPORTERS)
            + " (or none)"
        )
    try:
        # Imported only when traces are on: the packages are an optional extra, and a
        # node without traces should not pay for loading them.
        from hubbub.otel import OtelTracing  # noqa: PLC0415
    except ImportError as exc:
        raise TracingUnavailable(
            f"OTEL_TRACES_EXPORTER={exporter!r} needs the optional OpenTelemetry packages: "
            f"pip install 'hubbub[otel]' ({exc.name} is missing)"
        ) from None
    return OtelTracing.from_environment(exporter)
