"""scripts/bench, code-linked promotions: run by bench.py against the server it started.

1. Two promotions through the API: one whose common code (BENCHPROMO, 10% off a bill of at least
   100) may be redeemed 1,000,000,000 times, so the limit is checked on every bill but never runs
   out, and one for the generated codes.
2. Promo-code redemptions/s: addTransaction with the code at the bench's connections (wrk, the same
   bill as bench.py's addTransaction load plus `promoCodes`), beside the same server's
   `{ __typename }` baseline and the same addTransaction without a code, measured just before it.
3. `pointledger promo generate` of 1,000,000 codes into the second promotion (timed: the CLI as a
   user runs it, against the bench's database while the server is up); measured after the loads
   so the redemption figures are not those of a database still checkpointing a million inserts.
4. `pointledger promo reconcile`: every counter equals the redemptions it counts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from documents import ADD_TRANSACTION, TYPENAME

COMMON_CODE = "BENCHPROMO"
LIMIT = 1_000_000_000
ORG_CODE = "demo"
# bench.py's bill (1,800) at 10% off: every successful response carries this discount.
EXPECTED = '"promoDiscount":"180"'

CREATE = """
mutation Create($input: CartPromotionInput!) {
  createPromotion(input: $input) {
    __typename
    ... on CartPromotionCreated { promotion { id codesCount } }
    ... on Error { code message field }
  }
}
"""

# bench.py's addTransaction document, asking for the bill's promo discount too.
ADD_WITH_CODE = ADD_TRANSACTION.replace(
    "outlierStatus source storeCode", "promoDiscount outlierStatus source storeCode", 1
)


def create_promotion(post: Callable[[str], dict[str, Any]], graphql_body: Callable[..., str], **fields: Any) -> str:
    document = {
        "name": "bench",
        "validFrom": "2020-01-01T00:00:00+00:00",
        "validUntil": "2100-01-01T00:00:00+00:00",
        "action": "PERCENT_OFF",
        "percent": "10",
        "minimumBillAmount": "100",
        **fields,
    }
    answer = post(graphql_body(CREATE, {"input": document}, "Create"))
    result = (answer.get("data") or {}).get("createPromotion") or {}
    if result.get("__typename") != "CartPromotionCreated":
        raise RuntimeError(f"createPromotion answered {json.dumps(answer)[:400]}")
    return result["promotion"]["id"]


def run(*, url: str, auth: str, work: Path, env: dict[str, str], args: Any, server_pid: int, bench: Any) -> list[Any]:
    """Returns the rows for bench.py's table: the baseline and the redemptions load (Figures)."""

    def post(body: str) -> dict[str, Any]:
        return bench.post(url, auth, body.encode())

    bench.log("promotions:")
    create_promotion(post, bench.graphql_body, commonCode=COMMON_CODE, codeRedemptionLimit=LIMIT)
    generated_for = create_promotion(post, bench.graphql_body, name="bench generated")

    answer = post(
        bench.graphql_body(
            "query Status($code: String!) { promoCodeStatus(code: $code) "
            "{ __typename ... on PromoCodeStatus { redemptionsCount } } }",
            {"code": COMMON_CODE},
            "Status",
        )
    )
    if (answer.get("data") or {}).get("promoCodeStatus", {}).get("__typename") != "PromoCodeStatus":
        raise bench.BrokenRunError(f"promoCodeStatus answered {json.dumps(answer)[:400]}")
    body = bench.graphql_body(
        ADD_WITH_CODE, {"input": {**bench.bill_input("@@BILL@@", "@@MOBILE@@"), "promoCodes": [COMMON_CODE]}}, "Add"
    )
    head, rest = body.split("@@BILL@@")
    middle, tail = rest.split("@@MOBILE@@")
    check = bench.post(url, auth, (head + "PROMO-CHECK" + middle + "9810000002" + tail).encode())
    if EXPECTED not in json.dumps(check, separators=(",", ":")):
        raise bench.BrokenRunError(f"addTransaction with {COMMON_CODE} answered {json.dumps(check)[:600]}")

    common = {"BENCH_AUTH": auth}
    typename = {**common, "BENCH_BODY": bench.graphql_body(TYPENAME), "BENCH_EXPECT": '"__typename":"Query"'}
    redeem = {
        **common,
        "BENCH_MODE": "add",
        "BENCH_PART1": head,
        "BENCH_PART2": middle,
        "BENCH_PART3": tail,
        "BENCH_EXPECT": EXPECTED,
        "BENCH_CUSTOMERS": str(args.customers),
    }
    baseline = bench.measure("{ __typename } (promo baseline)", url, typename, args, server_pid)
    plain_head, plain_middle, plain_tail = bench.add_parts()
    plain = {
        **common,
        "BENCH_MODE": "add",
        "BENCH_PART1": plain_head,
        "BENCH_PART2": plain_middle,
        "BENCH_PART3": plain_tail,
        "BENCH_EXPECT": '"__typename":"TransactionAdded"',
        "BENCH_CUSTOMERS": str(args.customers),
    }
    without_code = bench.measure(
        "addTransaction, no code (beside)",
        url,
        {**plain, "BENCH_TAG": "R", "BENCH_MOBILE_DIGIT": "6"},
        args,
        server_pid,
        warm_env={**plain, "BENCH_TAG": "S", "BENCH_MOBILE_DIGIT": "7"},
    )
    redemptions = bench.measure(
        "addTransaction + promo code",
        url,
        {**redeem, "BENCH_TAG": "P", "BENCH_MOBILE_DIGIT": "5"},
        args,
        server_pid,
        warm_env={**redeem, "BENCH_TAG": "Q", "BENCH_MOBILE_DIGIT": "4"},
    )
    started = time.perf_counter()
    output = bench.run_step(
        f"pointledger promo generate ({args.promo_codes:,} codes, length 10)",
        [
            str(bench.BIN / "pointledger"),
            "promo",
            "generate",
            ORG_CODE,
            generated_for,
            "--count",
            str(args.promo_codes),
            "--length",
            "10",
        ],
        work,
        env,
        1800,
    )
    generation_seconds = time.perf_counter() - started
    bench.log(f"  {output.splitlines()[-1]}")

    reconciled = bench.run_step(
        "pointledger promo reconcile", [str(bench.BIN / "pointledger"), "promo", "reconcile"], work, env, 600
    )
    if reconciled.splitlines()[-1].strip() != "0 discrepancies":
        raise bench.BrokenRunError(f"promo reconcile after the loads: {reconciled}")
    bench.log(f"  promo reconcile: {reconciled.splitlines()[-1]}")
    answer = post(
        bench.graphql_body(
            "query Status($code: String!) { promoCodeStatus(code: $code) "
            "{ __typename ... on PromoCodeStatus { redemptionsCount } } }",
            {"code": COMMON_CODE},
            "Status",
        )
    )
    counted = answer["data"]["promoCodeStatus"]["redemptionsCount"]
    bench.log(f"  {COMMON_CODE}: {counted:,} redemptions counted (limit {LIMIT:,}); warm-up and check bills included")
    bench.log(
        f"  generation: {args.promo_codes:,} codes in {generation_seconds:.1f} s "
        f"({args.promo_codes / generation_seconds:,.0f} codes/s, the CLI process start included)"
    )
    ratio = redemptions.rate / baseline.rate if baseline.rate else 0.0
    bench.log(
        f"  redemptions: {redemptions.rate:,.0f}/s at {args.connections} connections = {ratio:.1%} of the "
        f"baseline beside it ({baseline.rate:,.0f}/s) and "
        f"{redemptions.rate / without_code.rate if without_code.rate else 0:.0%} of addTransaction without a code "
        f"({without_code.rate:,.0f}/s)"
    )
    return [baseline, without_code, redemptions]
