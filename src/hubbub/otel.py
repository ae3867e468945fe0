"""Traces with the OpenTelemetry SDK: the `Tracing` of `hubbub.tracing` when an
operator turns traces on (imported by nothing else, and only then).

Below `hubbub.tracing`, which chooses it. No global provider is set: the node's own
provider is handed to each instrumentation, so that a process may hold several nodes
(tests) and nothing outlives the node.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)

from hubbub import __version__


class OtelTracing:
    def __init__(self, processor: SpanProcessor) -> None:
        # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; the
        # provider reads OTEL_TRACES_SAMPLER.
        resource = Resource.create({SERVICE_NAME: "hubbub"}).merge(Resource.create())
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(processor)
        self._tracer = self.provider.get_tracer("hubbub", __version__)
        self._undo: list[Any] = []

    @classmethod
    def from_environment(cls, exporter: str) -> OtelTracing:
        chosen: SpanExporter
        if exporter == "console":
            chosen = ConsoleSpanExporter()
        else:
            # Imported here: its protobuf and HTTP client load only when it exports.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
                OTLPSpanExporter,
            )

            chosen = OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_* configure it
        # OTEL_BSP_* configure the batching.
        return cls(BatchSpanProcessor(chosen))

    @property
    def enabled(self) -> bool:
        return True

    def span(self, name: str, **attributes: str | int) -> AbstractContextManager[object]:
        return self._tracer.start_as_current_span(name, attributes=attributes)

    def current(self) -> object | None:
        return otel_context.get_current()

    def batch_span(
        self, name: str, parents: Sequence[object | None], **attributes: str | int
    ) -> AbstractContextManager[object]:
        contexts = [p for p in parents if isinstance(p, otel_context.Context)]
        links = [trace.Link(trace.get_current_span(c).get_span_context()) for c in contexts]
        return self._tracer.start_as_current_span(
            name,
            context=contexts[0] if contexts else None,
            links=links,
            attributes=attributes,
        )

    def instrument_app(self, app: Any) -> None:
        FastAPIInstrumentor.instrument_app(app, tracer_provider=self.provider)
        self._undo.append(lambda: FastAPIInstrumentor.uninstrument_app(app))

    def instrument_stores(self, engines: Sequence[Any], redis: Any | None) -> None:
        if engines:
            # One engine may serve both reads and writes (SQLite): instrument it once.
            sync_engines = list({id(e): e.sync_engine for e in engines}.values())
            # Its releases declare SQLAlchemy < 2.1 although it only listens to the
            # engines' public cursor events, which 2.1 keeps: tests/test_tracing.py checks
            # that statements are traced on the version locked.
            SQLAlchemyInstrumentor().instrument(
                engines=sync_engines, tracer_provider=self.provider, skip_dep_check=True
            )
            self._undo.append(lambda: SQLAlchemyInstrumentor().uninstrument())
        if redis is not None:
            RedisInstrumentor.instrument_client(redis, tracer_provider=self.provider)
            self._undo.append(lambda: RedisInstrumentor.uninstrument_client(redis))

    def shutdown(self) -> None:
        while self._undo:
            self._undo.pop()()
        self.provider.shutdown()
