"""The Grafana dashboard and the Prometheus alerts in deploy/ stay true to the metrics
the code exposes: a renamed metric or label breaks these tests, not a dashboard."""

from __future__ import annotations

import asyncio
import json
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from supporter.brokers.base import dead_letter_queue
from supporter.brokers.memory import MemoryBroker
from supporter.domain.models import Usage
from supporter.llm.base import CallOutcome, ModelCall
from supporter.observability.metrics import Metrics
from supporter.observability.readings import CircuitState, DeadLetterCause
from supporter.pipeline.circuit import CircuitBreaker
from supporter.pipeline.orchestrator import QUEUES
from supporter.pipeline.stats import RunStats

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "supporter-dashboard.json"
ALERTS = ROOT / "deploy" / "prometheus" / "supporter-alerts.yaml"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"
STAGES = ("analyze", "respond", "sink")

# Labels Prometheus adds to every scraped series.
TARGET_LABELS = frozenset({"job", "instance"})
# Label values the code defines, checked where a selector names them.
KNOWN_VALUES: dict[str, frozenset[str]] = {
    "outcome": frozenset(typing.get_args(CallOutcome)),
    "state": frozenset(state.value for state in CircuitState),
    "queue": frozenset({*QUEUES, *(dead_letter_queue(queue) for queue in QUEUES)}),
    "stage": frozenset(STAGES),
    "reason": frozenset(typing.get_args(DeadLetterCause)),
}
PROMQL_FUNCTIONS = frozenset(
    {
        *("sum", "min", "max", "avg", "count", "topk", "bottomk", "quantile", "stddev"),
        *("rate", "irate", "increase", "delta", "deriv", "histogram_quantile"),
        *("max_over_time", "min_over_time", "avg_over_time", "last_over_time"),
        *("label_replace", "label_values", "scalar", "vector", "clamp_min", "clamp_max"),
        *("abs", "round", "time", "timestamp", "absent", "absent_over_time", "changes"),
    }
)
PROMQL_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan"}
)
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
IDENTIFIER = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(\s*\()?")
SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r"(\w+)\s*(=~|!~|!=|=)\s*(\"(?:[^\"\\]|\\.)*\")")
LABEL_VALUES = re.compile(r"label_values\((\w+),\s*(\w+)\)")
AGGREGATION_BY = re.compile(r"\b(\w+)\s+by\s*\(([^)]*)\)\s*\(")


@dataclass
class Family:
    type: str
    labels: set[str] = field(default_factory=set)


# --------------------------------------------------------------------------- the code


@pytest.fixture(scope="module")
def families() -> dict[str, Family]:
    """Every metric family the project's registry exposes, by family name (counters
    without `_total`), with its type and labels: a `Metrics` built as a worker builds
    it, with every kind of sample present so that each family shows its labels."""
    stats = RunStats()
    breakers = {stage: CircuitBreaker(stage) for stage in STAGES}
    metrics = Metrics(stats, STAGES, breakers=breakers)
    for stage in STAGES:
        stats.stage(stage).dead_letter_causes["invalid"] += 1
    stats.outcomes[("responded", "billing", "high")] += 1
    metrics.on_call(
        ModelCall(
            provider="openai",
            model="gpt-4o",
            outcome="ok",
            seconds=0.5,
            usage=Usage(prompt_tokens=10, completion_tokens=5, cost_usd=Decimal("0.01")),
            ratelimit_remaining={"requests": 99, "tokens": 9000},
        )
    )

    async def scrape_queues() -> None:
        broker = MemoryBroker()
        for queue in QUEUES:
            await broker.declare(queue)
            await broker.publish(queue, b"{}", message_id=f"m-{queue}")
        await metrics.refresh_queue_depths(broker, KNOWN_VALUES["queue"])

    asyncio.run(scrape_queues())
    found: dict[str, Family] = {}
    for metric in metrics.registry.collect():
        family = found.setdefault(metric.name, Family(metric.type))
        for sample in metric.samples:
            family.labels.update(sample.labels)
    return found


def resolve(series: str, families: dict[str, Family]) -> Family | None:
    """The family a series name in PromQL belongs to: `x_total` of a counter `x`,
    `x_bucket`/`x_sum`/`x_count` of a histogram `x`, a gauge by its own name."""
    candidates = [(series, ("gauge", "unknown"))]
    if series.endswith("_total"):
        candidates.append((series.removesuffix("_total"), ("counter",)))
    for suffix in ("_bucket", "_sum", "_count"):
        if series.endswith(suffix):
            candidates.append((series.removesuffix(suffix), ("histogram", "summary")))
    for name, types in candidates:
        family = families.get(name)
        if family is not None and family.type in types:
            labels = family.labels | ({"le"} if series.endswith("_bucket") else set())
            return Family(family.type, labels)
    return None


def test_the_registry_has_the_families_this_test_relies_on(families: dict[str, Family]) -> None:
    assert families["supporter_stage_messages_consumed"].type == "counter"
    assert families["supporter_stage_processing_seconds"].labels == {"stage", "le"}
    assert families["supporter_queue_depth"].labels == {"queue"}
    assert resolve("supporter_stage_messages_consumed_total", families) is not None
    # A counter is queried with `_total`; a histogram through its series, not by name.
    assert resolve("supporter_stage_messages_consumed", families) is None
    assert resolve("supporter_stage_processing_seconds", families) is None
    assert resolve("supporter_queue_depth_total", families) is None


# --------------------------------------------------------------------------- PromQL


def without_strings(expr: str) -> str:
    return STRING.sub('""', expr)


def metric_names(expr: str) -> set[str]:
    """The series names an expression reads (functions and keywords left out)."""
    text = without_strings(expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges, subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names: set[str] = set()
    for match in IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if name.lower() in PROMQL_KEYWORDS:
            continue
        if call:
            assert name in PROMQL_FUNCTIONS, f"unknown PromQL function {name!r} in {expr!r}"
        else:
            names.add(name)
    return names


def argument_after(text: str, open_at: int) -> str:
    """The text inside the parenthesis opening at `open_at`."""
    depth = 0
    for index in range(open_at, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return text[open_at + 1 : index]
    raise AssertionError(f"unbalanced parentheses in {text!r}")


def aggregations(expr: str) -> Iterator[tuple[set[str], str]]:
    """(`by` labels, aggregated expression) for each `agg by (labels) (expression)`."""
    text = without_strings(expr)
    found = list(AGGREGATION_BY.finditer(text))
    # The postfix form `sum(x) by (l)` is not parsed here: write `sum by (l) (x)`.
    assert len(found) == len(re.findall(r"\bby\b", text)), f"write `agg by (…) (…)`: {expr}"
    for match in found:
        labels = {label.strip() for label in match.group(2).split(",") if label.strip()}
        yield labels, argument_after(text, match.end() - 1)


def check_expression(
    expr: str, families: dict[str, Family], recorded: set[str], where: str
) -> set[str]:
    """Problems with one expression; returns the metric names it uses."""
    names = metric_names(expr)
    assert names, f"{where}: no metric in {expr!r}"
    for name in names:
        if name in recorded:
            continue
        assert resolve(name, families) is not None, (
            f"{where}: {name!r} is not a metric the code exposes (families: {sorted(families)})"
        )
    for selected, matchers in SELECTOR.findall(expr):
        family = resolve(selected, families)
        if family is None:
            continue
        for label, op, quoted in MATCHER.findall(matchers):
            if label in TARGET_LABELS:
                continue
            assert label in family.labels, f"{where}: {selected} has no label {label!r}"
            value = json.loads(quoted)
            if label in KNOWN_VALUES and not value.startswith("$"):
                values = value.split("|") if op == "=~" else [value]
                unknown = [v for v in values if v not in KNOWN_VALUES[label] and "." not in v]
                assert not unknown, f"{where}: {label} has no value {unknown} ({selected})"
    for labels, inner in aggregations(expr):
        for name in metric_names(inner):
            if name in recorded:
                continue
            family = resolve(name, families)
            assert family is not None
            missing = labels - family.labels - TARGET_LABELS
            assert not missing, f"{where}: {name} has no label(s) {sorted(missing)} for `by`"
    return names


# --------------------------------------------------------------------------- the files


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    assert set(loaded) == {"groups"}
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    for panel in all_panels(dashboard()["panels"]):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            # Grafana's `label_values(metric, label)`, checked as the selector it reads.
            query = LABEL_VALUES.fullmatch(variable["definition"])
            assert query, variable["definition"]
            metric, label = query.groups()
            yield f"variable {variable['name']}", f"count by ({label}) ({metric})"


def test_every_dashboard_query_uses_exposed_metrics_and_labels(
    families: dict[str, Family],
) -> None:
    used: set[str] = set()
    recorded = recorded_names()
    for where, expr in dashboard_expressions():
        used |= check_expression(expr, families, recorded, where)
    # The panels: stages, queues, breakers, the model provider, tickets.
    for wanted in (
        "supporter_stage_messages_consumed_total",
        "supporter_stage_messages_succeeded_total",
        "supporter_stage_messages_retried_total",
        "supporter_stage_messages_dead_lettered_total",
        "supporter_stage_in_flight",
        "supporter_stage_processing_seconds_bucket",
        "supporter_queue_depth",
        "supporter_queue_oldest_age_seconds",
        "supporter_circuit_state",
        "supporter_model_requests_total",
        "supporter_model_request_seconds_bucket",
        "supporter_model_tokens_total",
        "supporter_model_cost_usd_total",
        "supporter_model_ratelimit_remaining",
        "supporter_tickets_total",
        "supporter_tickets_needs_human_total",
        "supporter_tickets_grounding_failed_total",
    ):
        assert wanted in used, f"no panel shows {wanted}"


def test_the_dashboard_is_importable_with_any_prometheus() -> None:
    board = dashboard()
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in all_panels(board["panels"])]
    assert len(ids) == len(set(ids))
    for panel in all_panels(board["panels"]):
        if panel["type"] == "row":
            continue
        sources = [panel["datasource"], *(target["datasource"] for target in panel["targets"])]
        assert all(source["uid"] == "${datasource}" for source in sources), panel["title"]
        assert panel["targets"], panel["title"]


def test_every_alert_is_complete_and_uses_exposed_metrics_and_labels(
    families: dict[str, Family],
) -> None:
    recorded = recorded_names()
    alerts = [rule for rule in rules() if "alert" in rule]
    assert {alert["alert"] for alert in alerts} == {
        "SupporterStageStalled",
        "SupporterMessagesWaitingLong",
        "SupporterDeadLettersRising",
        "SupporterModelRateLimited",
        "SupporterCircuitOpen",
        "SupporterModelCostHigh",
    }
    for rule in rules():
        assert set(rule) <= {"alert", "record", "expr", "for", "labels", "annotations"}, rule
        if "record" in rule and not metric_names(rule["expr"]):
            continue  # a constant, like the cost threshold
        check_expression(rule["expr"], families, recorded, rule.get("alert", rule.get("record")))
    for alert in alerts:
        name = alert["alert"]
        assert re.fullmatch(r"\d+[smh]", alert["for"]), name
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, name
        annotations = alert["annotations"]
        for key in ("summary", "description", "runbook"):
            assert annotations.get(key, "").strip(), f"{name} has no {key}"


def test_the_cost_threshold_is_one_recorded_number_the_alert_and_dashboard_use() -> None:
    [threshold] = [rule for rule in rules() if rule.get("record", "").endswith(":threshold")]
    assert re.fullmatch(r"vector\(\d+(\.\d+)?\)", threshold["expr"].strip())
    [cost] = [rule for rule in rules() if rule.get("alert") == "SupporterModelCostHigh"]
    assert threshold["record"] in cost["expr"]
    assert any(threshold["record"] in expr for _, expr in dashboard_expressions())


def test_the_deployment_guide_explains_every_alert() -> None:
    guide = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    for rule in rules():
        assert rule.get("alert", rule.get("record")) in guide


def test_a_misspelt_metric_or_label_fails(families: dict[str, Family]) -> None:
    for wrong in (
        "rate(supporter_stage_messages_consumd_total[5m])",  # misspelt
        "rate(supporter_stage_messages_consumed[5m])",  # a counter without `_total`
        "sum by (queue) (rate(supporter_stage_messages_consumed_total[5m]))",  # no such label
        'supporter_model_requests_total{outcome="too_many"}',  # no such value
        "supporter_queue_depth_count",  # a gauge is no histogram
    ):
        with pytest.raises(AssertionError):
            check_expression(wrong, families, set(), "test")
