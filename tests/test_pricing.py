"""Cost estimates: every expected figure is computed with genai-prices directly, never typed in."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbrowser.pricing import DEFAULT_TIER_FACTORS, PriceBook, default_book, estimate, parse_factors
from ccbrowser.pricing.tiers import tier_factor

BEFORE_TIER_DATA = datetime(2025, 9, 1, 12, tzinfo=UTC)  # genai-prices has no tier rates this early
AFTER_TIER_DATA = datetime(2026, 11, 2, 12, tzinfo=UTC)  # its flex/priority rates apply from 2026-10-12


def completion(
    model: str,
    when: datetime,
    prompt: int,
    output: int,
    *,
    cached: int = 0,
    reasoning: int = 0,
    audio_in: int = 0,
    audio_out: int = 0,
    tier: str | None = "default",
    **usage_extra: Any,
) -> dict[str, Any]:
    """A chat completion as the API stores it, with only the fields pricing reads varying."""
    return {
        "id": f"chatcmpl-{model}-{int(when.timestamp())}",
        "object": "chat.completion",
        "created": int(when.timestamp()),
        "model": model,
        "service_tier": tier,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": output,
            "total_tokens": prompt + output,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": audio_in},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": audio_out,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
            **usage_extra,
        },
    }


def package_price(
    c: dict[str, Any],
    model: str | None = None,
    provider: str = "openai",
    context: dict[str, str] | None = None,
) -> Decimal:
    """What genai-prices itself says, from the same counts, at the completion's own time."""
    u = c["usage"]
    usage = Usage(
        input_tokens=u["prompt_tokens"],
        cache_read_tokens=u["prompt_tokens_details"]["cached_tokens"],
        input_audio_tokens=u["prompt_tokens_details"]["audio_tokens"],
        output_tokens=u["completion_tokens"],
        output_reasoning_tokens=u["completion_tokens_details"]["reasoning_tokens"],
        output_audio_tokens=u["completion_tokens_details"]["audio_tokens"],
    )
    when = datetime.fromtimestamp(c["created"], UTC)
    return calc_price(
        usage,
        model or c["model"],
        provider_id=provider,
        genai_request_timestamp=when,
        price_context=context,
    ).total_price


# -- the purpose-built corpus ------------------------------------------------------------------


def test_dated_snapshots_are_priced_as_their_own_entries() -> None:
    old = completion("gpt-4o-2024-05-13", BEFORE_TIER_DATA, 12_000, 800)
    new = completion("gpt-4o-2024-08-06", BEFORE_TIER_DATA, 12_000, 800)
    e_old, e_new = estimate(old), estimate(new)
    assert (e_old.status, e_new.status) == ("estimate", "estimate")
    assert e_old.usd == package_price(old)
    assert e_new.usd == package_price(new)
    assert e_old.model_id == "gpt-4o-2024-05-13" and e_new.model_id == "gpt-4o"
    assert e_old.usd > e_new.usd  # the launch snapshot kept its higher rates


def test_prices_follow_the_completion_date() -> None:
    # o3's list price changed on 2025-06-10; each completion is priced at its own `created`.
    before = completion("o3", datetime(2025, 6, 1, tzinfo=UTC), 5_000, 2_000, reasoning=1_500)
    after = completion("o3", datetime(2025, 6, 20, tzinfo=UTC), 5_000, 2_000, reasoning=1_500)
    assert estimate(before).usd == package_price(before)
    assert estimate(after).usd == package_price(after)
    assert estimate(before).usd != estimate(after).usd


def test_cached_prompt_tokens_are_priced_at_the_cache_read_rate() -> None:
    cold = completion("gpt-4o-mini", BEFORE_TIER_DATA, 4_000, 300)
    warm = completion("gpt-4o-mini", BEFORE_TIER_DATA, 4_000, 300, cached=3_072)
    e = estimate(warm)
    assert e.usd == package_price(warm)
    assert e.usd < estimate(cold).usd  # type: ignore[operator]
    lines = {line.unit: line for line in e.lines}
    assert lines["cache_read_tokens"].quantity == 3_072
    assert lines["input_tokens"].quantity == 4_000 - 3_072  # the uncached rest
    assert e.tokens["cache_read_tokens"] == 3_072


def test_reasoning_tokens_count_as_output() -> None:
    c = completion("o4-mini", BEFORE_TIER_DATA, 1_500, 4_000, reasoning=3_500)
    e = estimate(c)
    assert e.usd == package_price(c)
    assert e.tokens["output_reasoning_tokens"] == 3_500
    assert sum(line.quantity for line in e.lines if line.direction == "output") == 4_000


def test_audio_tokens_have_their_own_rates() -> None:
    c = completion("gpt-audio-2025-08-28", BEFORE_TIER_DATA, 2_000, 1_200, audio_in=1_500, audio_out=1_000)
    text_only = completion("gpt-audio-2025-08-28", BEFORE_TIER_DATA, 2_000, 1_200)
    e = estimate(c)
    assert e.usd == package_price(c)
    units = {line.unit for line in e.lines}
    assert {"input_audio_tokens", "output_audio_tokens"} <= units
    assert e.usd > estimate(text_only).usd  # type: ignore[operator]


def test_usage_the_package_decomposes_itself() -> None:
    # gpt-realtime-mini prices cached audio: cached and audio counts overlap, which only
    # genai-prices' own decomposition can settle (or refuse); ccbrowser must agree either way.
    c = completion("gpt-realtime-mini", BEFORE_TIER_DATA, 3_000, 500, cached=1_024, audio_in=2_000)
    e = estimate(c)
    try:
        expected: Decimal | None = package_price(c)
    except ValueError:
        expected = None
    assert e.usd == expected
    assert (e.status == "unknown") == (expected is None)


def test_flex_and_priority_before_the_package_has_tier_rates_use_the_factor_table() -> None:
    flex = completion("o3", BEFORE_TIER_DATA, 10_000, 2_000, tier="flex")
    priority = completion("gpt-4o", BEFORE_TIER_DATA, 10_000, 2_000, tier="priority")
    e_flex, e_priority = estimate(flex), estimate(priority)
    assert e_flex.tier == "flex" and e_flex.tier_source == "default"
    assert e_flex.tier_factor == DEFAULT_TIER_FACTORS["flex"]
    assert e_flex.usd == package_price(flex) * DEFAULT_TIER_FACTORS["flex"]
    assert e_flex.subtotal == package_price(flex)
    assert e_priority.tier_factor == DEFAULT_TIER_FACTORS["priority:gpt-4o"]
    assert e_priority.usd == package_price(priority) * DEFAULT_TIER_FACTORS["priority:gpt-4o"]


def test_the_package_own_tier_rates_win_where_it_has_them() -> None:
    flex = completion("o3", AFTER_TIER_DATA, 10_000, 2_000, cached=2_048, tier="flex")
    priority = completion("gpt-4o", AFTER_TIER_DATA, 10_000, 2_000, tier="priority")
    for c in (flex, priority):
        e = estimate(c)
        assert e.tier_source == "package" and e.tier_factor == 1
        assert e.usd == package_price(c, context={"service_tier": c["service_tier"]})
        assert e.usd != package_price(c)  # not the standard price


def test_batch_results_use_the_package_batch_rates_or_the_factor() -> None:
    before = completion("gpt-4o", BEFORE_TIER_DATA, 10_000, 2_000)
    after = completion("gpt-4o", datetime(2026, 11, 2, tzinfo=UTC), 10_000, 2_000)
    e_before, e_after = estimate(before, batch=True), estimate(after, batch=True)
    assert e_before.tier == "batch" and e_before.tier_source == "default"
    assert e_before.usd == package_price(before) * DEFAULT_TIER_FACTORS["batch"]
    assert e_after.tier_source == "package"
    assert e_after.usd == package_price(after, context={"processing": "batch"})


def test_the_served_tier_counts_not_a_missing_or_standard_one() -> None:
    for tier in (None, "default", "auto", "DEFAULT"):
        c = completion("gpt-4.1", BEFORE_TIER_DATA, 1_000, 100, tier=tier)
        e = estimate(c)
        assert e.tier == "default" and e.tier_factor == 1 and e.usd == package_price(c)


def test_an_unlisted_tier_is_priced_at_standard_and_says_so() -> None:
    c = completion("gpt-4.1", BEFORE_TIER_DATA, 1_000, 100, tier="turbo-deluxe")
    e = estimate(c)
    assert e.status == "estimate" and e.tier_source == "unlisted" and e.usd == package_price(c)
    assert e.reason and "turbo-deluxe" in e.reason


def test_an_unknown_model_is_unknown_never_zero() -> None:
    for model, provider in (("my-finetune-xyz", None), ("llama3.2:3b", None), ("gpt-4o", "llama-stack")):
        e = estimate(completion(model, BEFORE_TIER_DATA, 1_000, 100), provider=provider)
        assert e.status == "unknown" and e.usd is None and e.usd_float is None
        assert e.reason == "model not in the price data"
        assert e.label == "unknown"


def test_a_cost_the_server_reports_wins_over_the_estimate() -> None:
    c = completion("openai/gpt-4o", BEFORE_TIER_DATA, 2_000, 500, cost=0.0123)
    e = estimate(c)
    assert e.status == "reported" and e.label == "reported by the server"
    assert e.usd == Decimal("0.0123") and e.reported == Decimal("0.0123")
    assert e.estimated == package_price(c, model="gpt-4o")  # the breakdown is still there
    unknown_model = estimate(completion("house-model", BEFORE_TIER_DATA, 10, 10, cost=0.5))
    assert unknown_model.status == "reported" and unknown_model.usd == Decimal("0.5")
    for bogus in (-1, True, "0.3", float("nan"), None):
        assert estimate(completion("gpt-4o", BEFORE_TIER_DATA, 10, 10, cost=bogus)).status == "estimate"


def test_router_style_names_find_the_vendor_entry() -> None:
    routed = completion("openai/gpt-4o-2024-05-13", BEFORE_TIER_DATA, 3_000, 400, cached=1_024)
    e = estimate(routed)
    assert (e.provider_id, e.model_id) == ("openai", "gpt-4o-2024-05-13")
    assert e.usd == package_price(routed, model="gpt-4o-2024-05-13")
    # a name only a router lists is priced at that router's rate, and says so
    hosted = completion("meta-llama/llama-3.1-8b-instruct", BEFORE_TIER_DATA, 3_000, 400)
    e_hosted = estimate(hosted)
    assert e_hosted.provider_id == "openrouter"
    assert e_hosted.usd == package_price(hosted, provider="openrouter")
    assert e_hosted.reason and "OpenRouter" in e_hosted.reason


def test_the_provider_hint_chooses_the_price_list() -> None:
    c = completion("gpt-4o", BEFORE_TIER_DATA, 3_000, 400, cached=1_024)
    e = estimate(c, provider="azure")
    assert e.provider_id == "azure" and e.usd == package_price(c, provider="azure")
    by_url = estimate(c, api_url="https://contoso.openai.azure.com/openai/deployments/x")
    assert by_url.provider_id == "azure" and by_url.usd == e.usd
    local = estimate(c, api_url="http://127.0.0.1:8321/v1")  # a proxy: fall back to the model name
    assert local.provider_id == "openai" and local.usd == package_price(c)


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda c: c.pop("usage"), "no usage reported"),
        (lambda c: c.update(usage="lots"), "no usage reported"),
        (lambda c: c["usage"].pop("prompt_tokens"), "usage has no prompt_tokens"),
        (lambda c: c["usage"].update(prompt_tokens=-5), "usage.prompt_tokens is not a count"),
        (lambda c: c["usage"].update(completion_tokens=True), "usage has no completion_tokens"),
        (lambda c: c["usage"].update(prompt_tokens=float("inf")), "usage.prompt_tokens is not a count"),
        (lambda c: c["usage"]["prompt_tokens_details"].update(cached_tokens=10**6), "usage parts exceed"),
        (lambda c: c.update(created="yesterday"), "no valid created time"),
        (lambda c: c.update(created=float("nan")), "no valid created time"),
        (lambda c: c.update(created=10**15), "no valid created time"),
        (lambda c: c.update(model=None), "no model name"),
        (lambda c: c.update(model="x" * 100_000), "model not in the price data"),
    ],
)
def test_bad_data_from_a_server_is_unknown_not_an_error(mutate: Any, reason: str) -> None:
    c = completion("gpt-4o", BEFORE_TIER_DATA, 1_000, 100)
    mutate(c)
    e = estimate(c)
    assert e.status == "unknown" and e.usd is None
    assert e.reason is not None and e.reason.startswith(reason)


def test_float_counts_are_priced_like_the_package_does() -> None:
    c = completion("gpt-4.1", BEFORE_TIER_DATA, 1_000, 100)
    c["usage"]["prompt_tokens"] = 1000.5
    e = estimate(c)
    expected = calc_price(
        Usage(input_tokens=1000.5, cache_read_tokens=0, output_tokens=100),
        "gpt-4.1",
        provider_id="openai",
        genai_request_timestamp=BEFORE_TIER_DATA,
    ).total_price
    assert e.usd == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    model=st.one_of(st.sampled_from(["gpt-4o", "o3", "openai/gpt-4.1", "gpt-5.4", "nope"]), json_values),
    usage=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"prompt_tokens": json_values},
            optional={
                "completion_tokens": json_values,
                "prompt_tokens_details": json_values,
                "completion_tokens_details": json_values,
                "cost": json_values,
            },
        ),
    ),
    created=json_values,
    tier=json_values,
)
def test_any_json_is_priced_or_unknown_never_an_exception(
    model: Any, usage: Any, created: Any, tier: Any
) -> None:
    e = estimate({"model": model, "usage": usage, "created": created, "service_tier": tier})
    assert e.status in ("estimate", "reported", "unknown")
    assert (e.usd is None) == (e.status == "unknown")
    if e.usd is not None:
        assert e.usd >= 0 and math.isfinite(e.usd)


def test_long_context_tiers_are_priced_by_the_package_rule() -> None:
    small = completion("gpt-5.4", BEFORE_TIER_DATA, 100_000, 1_000, cached=50_048)
    large = completion("gpt-5.4", BEFORE_TIER_DATA, 300_000, 1_000, cached=50_048)
    for c in (small, large):
        assert estimate(c).usd == package_price(c)
    rates = {line.unit: line.rate for line in estimate(large).lines}
    assert rates["input_tokens"] > {line.unit: line.rate for line in estimate(small).lines}["input_tokens"]


# -- the whole emulator corpus -------------------------------------------------------------------


def test_every_emulator_completion_matches_genai_prices() -> None:
    from genai_prices import extract_usage

    from ccbrowser.emulator.corpus import Corpus

    corpus = Corpus(600, seed=7, now=1_790_000_000)
    seen_tiers: set[str] = set()
    for i in range(len(corpus)):
        c = corpus.completion(i)
        e = estimate(c)
        extracted = extract_usage(c, provider_id="openai", api_flavor="chat")
        standard = extracted.calc_price(genai_request_timestamp=datetime.fromtimestamp(c["created"], UTC))
        assert e.status == "estimate", (c["model"], e.reason)
        assert e.subtotal == standard.total_price, c["model"]
        assert e.usd == standard.total_price * e.tier_factor
        seen_tiers.add(e.tier)
    assert seen_tiers == {"default", "flex", "priority"}


# -- tier factors -------------------------------------------------------------------------------


def test_default_tier_factors_agree_with_the_package_verified_tier_rates() -> None:
    """The table's model-specific factors are OpenAI's ratios; genai-prices verified the same rates."""
    book = default_book()
    checked = 0
    for key, factor in DEFAULT_TIER_FACTORS.items():
        tier, _, model_id = key.partition(":")
        if not model_id:
            continue
        found = book.find(model_id, provider="openai")
        assert found is not None, key
        _, info = found
        standard = info.get_prices(AFTER_TIER_DATA)
        tiered = info.get_prices(AFTER_TIER_DATA, {"service_tier": tier})
        assert float(tiered.input_mtok / standard.input_mtok) == pytest.approx(float(factor), abs=0.01), key
        assert float(tiered.output_mtok / standard.output_mtok) == pytest.approx(float(factor), abs=0.01), key
        checked += 1
    assert checked >= 5
    gpt5 = book.find("gpt-5", provider="openai")
    assert gpt5 is not None
    for tier in ("flex", "batch"):
        context = {"processing": "batch"} if tier == "batch" else {"service_tier": tier}
        ratio = (
            gpt5[1].get_prices(AFTER_TIER_DATA, context).input_mtok
            / gpt5[1].get_prices(AFTER_TIER_DATA).input_mtok
        )
        assert ratio == DEFAULT_TIER_FACTORS[tier]


def test_tier_factor_lookup_takes_the_longest_model_prefix() -> None:
    assert tier_factor("priority", "gpt-4o-mini") == (DEFAULT_TIER_FACTORS["priority:gpt-4o-mini"], "default")
    assert tier_factor("priority", "gpt-4o") == (DEFAULT_TIER_FACTORS["priority:gpt-4o"], "default")
    assert tier_factor("priority", "gpt-5.1") == (DEFAULT_TIER_FACTORS["priority:gpt-5"], "default")
    assert tier_factor("priority", "o3") == (DEFAULT_TIER_FACTORS["priority"], "default")
    assert tier_factor("flex", "o3") == (Decimal("0.5"), "default")
    assert tier_factor("fast", "o3") is None


def test_a_user_override_wins_over_defaults_and_package_rates() -> None:
    c_before = completion("gpt-4o", BEFORE_TIER_DATA, 10_000, 2_000, tier="priority")
    c_after = completion("gpt-4o", AFTER_TIER_DATA, 10_000, 2_000, tier="priority")
    for c in (c_before, c_after):
        e = estimate(c, tier_factors={"priority": 2.5})
        assert e.tier_source == "override" and e.tier_factor == Decimal("2.5")
        assert e.usd == package_price(c) * Decimal("2.5")
    # a model-specific override beats a general one; other tiers keep their defaults
    book = PriceBook.bundled(tier_factors={"priority": 3, "priority:gpt-4o": "1.5", "flex": 0})
    assert estimate(c_before, book=book).tier_factor == Decimal("1.5")
    flex = completion("o3", BEFORE_TIER_DATA, 1_000, 100, tier="flex")
    assert estimate(flex, book=book).usd == 0 and estimate(flex, book=book).tier_source == "override"
    assert estimate(c_before).tier_factor == DEFAULT_TIER_FACTORS["priority:gpt-4o"]  # defaults untouched


@pytest.mark.parametrize(
    "bad", [{"flex": -1}, {"flex": "half"}, {"flex": float("inf")}, {"flex": True}, {"": 1}]
)
def test_bad_tier_factors_are_a_clear_error(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="tier factor"):
        parse_factors(bad)
    with pytest.raises(ValueError, match="tier factor"):
        estimate(completion("o3", BEFORE_TIER_DATA, 1, 1, tier="flex"), tier_factors=bad)


# -- offline, and cached -------------------------------------------------------------------------


def test_pricing_never_starts_the_package_price_updater() -> None:
    from genai_prices import update_prices

    estimate(completion("gpt-4o", BEFORE_TIER_DATA, 1_000, 100))
    assert update_prices._shared_updater.ref_count == 0
    assert not any(t.name == "genai_prices:update" for t in threading.enumerate())


def test_a_process_wide_price_update_by_another_library_does_not_change_ccbrowser() -> None:
    from genai_prices.data_snapshot import DataSnapshot, set_custom_snapshot

    c = completion("gpt-4o", BEFORE_TIER_DATA, 1_000, 100)
    before = estimate(c).usd
    set_custom_snapshot(DataSnapshot(providers=[], from_auto_update=True))
    try:
        assert estimate(c).usd == before
    finally:
        set_custom_snapshot(None)


def test_rates_are_resolved_once_per_price_period_and_tier() -> None:
    book = PriceBook.bundled()
    start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    for n in range(400):  # a completion every ~22 hours through 2025, two tiers
        when = datetime.fromtimestamp(start + n * 79_000, UTC)
        for tier in ("default", "flex"):
            assert (
                estimate(completion("gpt-4.1", when, 1_000 + n, 10, tier=tier), book=book).status
                == "estimate"
            )
    assert book.cache_sizes() == (1, 2)  # gpt-4.1's prices did not change in that span
    estimate(completion("gpt-4.1", AFTER_TIER_DATA, 10, 10, tier="flex"), book=book)
    assert book.cache_sizes() == (1, 3)  # a new period: the package's own tier rates start
    # o3's price change on 2025-06-10 starts at 00:00 UTC that day, as in genai-prices
    edge = int(datetime(2025, 6, 10, tzinfo=UTC).timestamp())
    for created in (edge - 1, edge):
        c = completion("o3", datetime.fromtimestamp(created, UTC), 1_000, 100)
        assert estimate(c, book=book).usd == package_price(c)
    assert (
        estimate(completion("o3", datetime.fromtimestamp(edge - 1, UTC), 1_000, 100), book=book).usd
        != estimate(completion("o3", datetime.fromtimestamp(edge, UTC), 1_000, 100), book=book).usd
    )


def test_the_estimate_names_its_price_data() -> None:
    import genai_prices

    e = estimate(completion("gpt-4o", BEFORE_TIER_DATA, 1, 1))
    assert e.is_estimate and e.label == "estimate"
    assert genai_prices.__version__ in e.price_data


def test_time_of_day_prices_follow_the_completion_clock() -> None:
    # DeepSeek listed off-peak rates for part of each UTC day; one day, two clocks, two periods.
    book = PriceBook.bundled()
    day = datetime(2025, 3, 3, tzinfo=UTC)
    costs = set()
    for hour in (3, 17):
        c = completion("deepseek-chat", day.replace(hour=hour), 20_000, 2_000, cached=4_096)
        e = estimate(c, provider="deepseek", book=book)
        assert e.usd == package_price(c, provider="deepseek")
        costs.add(e.usd)
    assert len(costs) == 2


def test_endless_distinct_model_names_do_not_grow_memory_without_bound() -> None:
    book = PriceBook.bundled()
    for n in range(9_000):  # past the 8,192-entry bound
        c = completion(f"model-{n}" if n % 10 else f"vendor{n}/gpt-x{n}", BEFORE_TIER_DATA, 10, 10)
        assert estimate(c, book=book).status == "unknown"
    models, _ = book.cache_sizes()
    assert models <= 8192
    memo = book.snapshot._provider_misses  # genai-prices' own memo of names it could not place
    assert len(memo) < 9_000
