"""scripts/bench, code-linked promotions: set up and measured by bench.py on the server it started.

1. prepare(): two promotions through the API: one whose common code (BENCHPROMO, 10% off a bill of
   at least 100) may be redeemed 1,000,000,000 times, so the limit is checked on every bill but
   never runs out, and one for the generated codes; one bill with the code checked by hand. Its
   load (addTransaction with the code, returning customers) is one of bench.py's loads: measured
   in its rounds right after that round's `{ __typename }` baseline, the ratio taken from it.
2. finish(): the common code's counter, after the rounds.
3. generate(): `pointledger promo generate` of 1,000,000 codes into the second promotion (the CLI
   as a user runs it; its own reported time, without the process start), then `pointledger promo
   reconcile` (every counter equals the redemptions it counts), then the ceiling: a raw sqlite3
   executemany of the same rows into the same table of the same file in one transaction
   (deleted afterwards). The target: generation >= 50% of the raw rate.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from documents import ADD_TRANSACTION

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


STATUS = (
    "query Status($code: String!) { promoCodeStatus(code: $code) "
    "{ __typename ... on PromoCodeStatus { redemptionsCount } } }"
)


@dataclass
class Promotions:
    """The two promotions, the redemption load (one of bench.py's loads, in its rounds) and the rest."""

    bench: Any
    code: str
    generated_for: str
    load: dict[str, str]

    def finish(self, post: Callable[[str], dict[str, Any]]) -> None:
        """After the rounds, on the server still up: the common code's counter."""
        answer = post(self.bench.graphql_body(STATUS, {"code": self.code}, "Status"))
        counted = answer["data"]["promoCodeStatus"]["redemptionsCount"]
        self.bench.log(
            f"  {self.code}: {counted:,} redemptions counted (limit {LIMIT:,}); warm-up and check bills included"
        )

    def generate(self, *, work: Path, env: dict[str, str], codes: int, target: float) -> tuple[str, str]:
        """`pointledger promo generate` against a raw sqlite3 executemany of the same rows; the verdict."""
        bench = self.bench
        output = bench.run_step(
            f"pointledger promo generate ({codes:,} codes, length 10)",
            [
                *(str(bench.BIN / "pointledger"), "promo", "generate", ORG_CODE, self.generated_for),
                *("--count", str(codes), "--length", "10"),
            ],
            work,
            env,
            1800,
        )
        reported = GENERATED.search(output)
        if reported is None:
            raise bench.BrokenRunError(f"promo generate printed no timing: {output[-400:]}")
        generated, seconds = int(reported.group(1).replace(",", "")), float(reported.group(2))
        bench.log(f"  {reported.group(0)}")
        reconciled = bench.run_step(
            "pointledger promo reconcile", [str(bench.BIN / "pointledger"), "promo", "reconcile"], work, env, 600
        )
        if reconciled.splitlines()[-1].strip() != "0 discrepancies":
            raise bench.BrokenRunError(f"promo reconcile after the loads: {reconciled}")
        bench.log(f"  promo reconcile: {reconciled.splitlines()[-1]}")
        raw_seconds = raw_insert(work / "bench.db", int(self.generated_for))
        rate, raw_rate = generated / seconds, generated / raw_seconds
        bench.log(
            f"  raw sqlite3 executemany of the same {generated:,} rows into promo_codes (same file, same pragmas, one "
            f"transaction): {raw_seconds:.2f} s ({raw_rate:,.0f} rows/s)"
        )
        ratio = rate / raw_rate
        return (
            f"{codes:,} promo codes >= {target:.0%} of a raw sqlite3 executemany of the same rows",
            f"{'PASS' if ratio >= target else 'SHORT'} ({ratio:.1%}: {rate:,.0f} codes/s as the CLI reports its "
            f"generation, {raw_rate:,.0f} rows/s raw)",
        )


GENERATED = re.compile(r"generated ([\d,]+) codes in ([\d.]+) s")


def raw_insert(database: Path, promotion_id: int) -> float:
    """Seconds to insert the promotion's codes again, as they are (each code with a lower-case "r"
    after it: the unique index would refuse them otherwise; generated codes are upper case), into
    the same table of the same file: one executemany in one transaction, with the pragmas the app
    sets (WAL, synchronous NORMAL, foreign keys on). The rows are deleted afterwards."""
    with sqlite3.connect(database, isolation_level=None) as connection:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=60000"):
            connection.execute(f"PRAGMA {pragma}")
        rows = [
            (org_id, promotion_id, code + "r", source, count, created_at)
            for org_id, code, source, count, created_at in connection.execute(
                "SELECT org_id, code, source, redemptions_count, created_at FROM promo_codes WHERE promotion_id = ?",
                (promotion_id,),
            )
        ]
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT INTO promo_codes (org_id, promotion_id, code, source, redemptions_count, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.execute("COMMIT")
        seconds = time.perf_counter() - started
        connection.execute(
            "DELETE FROM promo_codes WHERE promotion_id = ? AND code GLOB '*r'",
            (promotion_id,),
        )
    return seconds


def prepare(*, url: str, auth: str, bench: Any, customers: int, tag: str) -> Promotions:
    """The promotions through the API and one bill with the code checked by hand."""

    def post(body: str) -> dict[str, Any]:
        return bench.post(url, auth, body.encode())

    bench.log("promotions:")
    code = f"{COMMON_CODE}{tag}"  # one promotion per server run (a code is unique in the org)
    create_promotion(post, bench.graphql_body, commonCode=code, codeRedemptionLimit=LIMIT)
    generated_for = create_promotion(post, bench.graphql_body, name="bench generated")
    answer = post(bench.graphql_body(STATUS, {"code": code}, "Status"))
    if (answer.get("data") or {}).get("promoCodeStatus", {}).get("__typename") != "PromoCodeStatus":
        raise bench.BrokenRunError(f"promoCodeStatus answered {json.dumps(answer)[:400]}")
    body = bench.graphql_body(
        ADD_WITH_CODE, {"input": {**bench.bill_input("@@BILL@@", "@@MOBILE@@"), "promoCodes": [code]}}, "Add"
    )
    parts = bench.split_body(body)
    check = bench.post(url, auth, (parts[0] + f"PROMO-CHECK-{tag}" + parts[1] + "6999000002" + parts[2]).encode())
    if EXPECTED not in json.dumps(check, separators=(",", ":")):
        raise bench.BrokenRunError(f"addTransaction with {code} answered {json.dumps(check)[:600]}")
    return Promotions(bench, code, generated_for, bench.add_load(auth, parts, "returning", customers, EXPECTED))
