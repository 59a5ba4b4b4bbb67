"""A migrating brand's points history: opening balances (profile OPENING_BALANCES, the seed's
PointsLedgerBulkJob) and historic redemptions and expiries (profile POINTS_DEBITS). Credits
after the opening balance come through TALON_ONE_POINTS (app.imports.points), so a brand
brings a customer over as: opening balances, then its credits and debits files in date order.

Both name the program in their configuration (`program_code`: one file per program, as the
points import) and the customer as the points import does: `customerprofileid` (an EXTERNAL_ID
identifier) or `identifier` (a loyalty card of the program). A merged customer is refused
(CUSTOMER_MERGED), as are unknown or inactive cards.

OPENING_BALANCES columns: customerprofileid | identifier, balance (> 0, no finer than the
program counts), asof (RFC3339 with an offset: when the other system's balance was taken), and
optionally category (REGULAR, the default, PROMISED or TRIGGER_BASED) and expirydate (RFC3339
or `unlimited`/empty; later than asof). Each row is one POINTS_LEDGER_BULK_JOB event with one
OPENING_BALANCE credit (it moves the balance, not the `earned` counter: the points were earned
elsewhere) and one lot active from `asof`; a balance already past its expiry expires in the same
transaction (the job's `pointsExpired`). An unknown customerprofileid registers the customer
unless `register_unknown_customers: false` (then CUSTOMER_NOT_FOUND). A customer brought over
with a zero balance needs no row: registration opens their accounts at zero.
  The opening balance starts the account's ledger, so it is refused (KEY: customer, program,
category) when the account already has one (OPENING_BALANCE_EXISTS: the same file or row again,
even in another job or with another import key) or any entry besides its registration
(ACCOUNT_HAS_HISTORY: import opening balances before the history). Checked under the accounts'
locks, so two jobs at once cannot both import one.

POINTS_DEBITS columns: customerprofileid | identifier, type (REDEMPTION or EXPIRY), amount (> 0),
and optionally date (RFC3339 with an offset, at or before the import; empty: the import's
time) and reason. Each row is one POINTS_IMPORT event dated `date` with one POINTS_REDEMPTION or
POINTS_EXPIRY debit on the customer's REGULAR account (the `redeemed` or `expired` counter),
taking its lots as a live redemption or expiry would (app.ledger.debits, the lot trace
recorded). A debit larger than the balance is refused (INSUFFICIENT_POINTS) unless the program
allows negative balances. A debit is never older than the points it takes (column `date`):
one dated before the customer's imported opening balance is refused
(DATE_BEFORE_OPENING_BALANCE: its `asof`), and so is one that only lots starting after its date
could pay (DATE_BEFORE_CREDIT: the points had not been credited, or were not yet spendable).
Rows are applied in file order per customer, so a refusal is judged on the balance the earlier
rows left. Unknown customers are refused (CUSTOMER_NOT_FOUND): a debit
registers no one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncConnection

from app.imports.cells import points_cell
from app.imports.holders import text_refusal
from app.imports.models import ImportProfile
from app.imports.points import (
    CARD_COLUMN,
    IDENTIFIER_CHARS_MAX,
    PROFILE_COLUMN,
    REASON_CHARS_MAX,
    PointsConfig,
    PointsRun,
    parse_time,
)
from app.imports.profiles import BatchResult, Columns, ParsedRow, Profile, RowError
from app.kernel.enums import PointsCategory
from app.kernel.errors import NotFoundError, ValidationError
from app.kernel.money import from_scaled_integer
from app.ledger import repository as ledger_repository
from app.ledger.credits import CreditDraft, post_credits_expiring_past_due
from app.ledger.debits import DebitDraft, Overdraft, Refusal, post_debits, read_debits_plan
from app.ledger.models import EntryKind, EventType
from app.ledger.views import AccountRef
from app.organizations.config import OrgConfig

DEBIT_KINDS = {"REDEMPTION": EntryKind.POINTS_REDEMPTION, "EXPIRY": EntryKind.POINTS_EXPIRY}


def _customer_key(row: Mapping[str, str]) -> tuple[bool, str] | RowError:
    """The row's customer column: (by card, key)."""
    by_card = CARD_COLUMN in row
    key_column = CARD_COLUMN if by_card else PROFILE_COLUMN
    key = row[key_column].strip()
    if not key:
        return RowError("MISSING_VALUE", f"{key_column} is empty", key_column)
    refusal = text_refusal(key, key_column, IDENTIFIER_CHARS_MAX, "INVALID_IDENTIFIER")
    return refusal if refusal is not None else (by_card, key)


def _program_config(raw: Mapping[str, Any], what: str, *, registers: bool) -> PointsConfig:
    program_code = raw.get("program_code")
    if not isinstance(program_code, str) or not program_code.strip():
        raise ValidationError(f"{what} names its program", field="programCode")
    known = {"program_code", "register_unknown_customers"} if registers else {"program_code"}
    unknown = set(raw) - known
    if unknown:
        raise ValidationError(f"unknown configuration {sorted(unknown)[0]!r}", field="configuration")
    register = raw.get("register_unknown_customers", True) if registers else False
    if not isinstance(register, bool):
        raise ValidationError("must be true or false", field="register_unknown_customers")
    return PointsConfig(program_code.strip(), register_unknown_customers=register, create_missing_subledgers=False)


class _HistoryProfile(Profile[PointsConfig]):
    registers = False
    what = ""

    def configure(self, raw: Mapping[str, Any]) -> PointsConfig:
        return _program_config(raw, self.what, registers=self.registers)

    def configuration_document(self, config: PointsConfig) -> dict[str, Any]:
        document: dict[str, Any] = {"program_code": config.program_code}
        if self.registers:
            document["register_unknown_customers"] = config.register_unknown_customers
        return document

    def program_of(self, org: OrgConfig, config: PointsConfig) -> Any:
        program = org.program_by_code(config.program_code)
        if program is None:
            raise NotFoundError(f"no program {config.program_code!r} in this organisation", field="programCode")
        return program


# --- Historic redemptions and expiries --------------------------------------------------------


class DebitRow(NamedTuple):
    by_card: bool
    key: str
    entry_kind: EntryKind
    amount: Decimal
    at: datetime | None  # None: when imported
    reason: str | None


class DebitsRun(PointsRun):
    def parse(self, row: Mapping[str, str]) -> DebitRow | RowError:  # type: ignore[override]
        customer = _customer_key(row)
        if isinstance(customer, RowError):
            return customer
        kind = DEBIT_KINDS.get(row["type"].strip().upper())
        if kind is None:
            return RowError("INVALID_TYPE", "must be REDEMPTION or EXPIRY", "type")
        amount = points_cell(
            row["amount"], "amount", "INVALID_AMOUNT", self.program.code, self.program.points_decimal_places
        )
        if isinstance(amount, RowError):
            return amount
        at = parse_time(row.get("date", ""), "date", "")
        if isinstance(at, RowError):
            return at
        reason = row.get("reason", "").strip() or None
        if reason is not None:
            refusal = text_refusal(reason, "reason", REASON_CHARS_MAX, "INVALID_REASON", identifier=False)
            if refusal is not None:
                return refusal
        return DebitRow(*customer, kind, amount, at, reason)

    def _drafts(
        self,
        rows: Sequence[ParsedRow[DebitRow]],
        holder_of: Mapping[int, Any],
        account_of: Mapping[int, AccountRef],
        now: datetime,
        job_id: int | None,
    ) -> tuple[list[DebitDraft], list[ParsedRow[DebitRow]], list[tuple[ParsedRow[DebitRow], RowError]]]:
        """The debits of the rows with a holder (and the rows they came from), and the rows dated
        after the import."""
        drafts, drafted, rejects = [], [], []
        for index, row in enumerate(rows):
            if index not in holder_of:
                continue
            value = row.value
            if value.at is not None and value.at > now:
                rejects.append(
                    (row, RowError("INVALID_DATE", "a historic debit is dated at or before its import", "date"))
                )
                continue
            drafts.append(
                DebitDraft(
                    account_of[holder_of[index].customer_id],
                    value.amount,
                    value.at or now,
                    value.entry_kind,
                    import_job_id=job_id,
                    reason=value.reason,
                )
            )
            drafted.append(row)
        return drafts, drafted, rejects

    def _refusal(self, row: ParsedRow[DebitRow], refusal: Refusal) -> RowError:
        if isinstance(refusal, Overdraft):
            return RowError(
                "INSUFFICIENT_POINTS",
                f"the balance is {format(refusal.balance.normalize(), 'f')} points, fewer than the "
                f"{format(row.value.amount, 'f')} debited (program {self.program.code} allows no negative balance)",
                "amount",
            )
        points_from = refusal.points_from.isoformat().replace("+00:00", "Z")
        if refusal.before_opening_balance:
            return RowError(
                "DATE_BEFORE_OPENING_BALANCE",
                f"the customer's opening balance in program {self.program.code} is as of {points_from}: "
                "a debit cannot be dated before it",
                "date",
            )
        return RowError(
            "DATE_BEFORE_CREDIT",
            f"the points this debit would take start on {points_from}, after its date",
            "date",
        )

    def _refusals(
        self, drafted: Sequence[ParsedRow[DebitRow]], refused: Sequence[Refusal]
    ) -> list[tuple[ParsedRow[DebitRow], RowError]]:
        return [(drafted[refusal.position], self._refusal(drafted[refusal.position], refusal)) for refusal in refused]

    async def check(  # type: ignore[override]
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[DebitRow]], now: datetime
    ) -> BatchResult:
        holder_of, _, rejects = await self._resolve(connection, rows, lock=False)
        customer_ids = list(dict.fromkeys(holder.customer_id for holder in holder_of.values()))
        found = await ledger_repository.regular_account_ids(connection, customer_ids, program_id=self.program.id)
        # A customer without an account in the program yet (a program added later) holds nothing.
        account_of = {
            customer_id: AccountRef(
                found.get(customer_id, -customer_id), customer_id, self.program.id, PointsCategory.REGULAR
            )
            for customer_id in customer_ids
        }
        drafts, drafted, dated_rejects = self._drafts(rows, holder_of, account_of, now, None)
        planned, refused = await read_debits_plan(
            connection,
            org_id=self.org.id,
            debits=drafts,
            allow_negative_balance=self.program.allow_negative_balance,
            lock=False,
        )
        rejects = sorted(
            [*rejects, *dated_rejects, *self._refusals(drafted, refused)], key=lambda item: item[0].row_number
        )
        points = sum(debit.points for debit in planned)
        return BatchResult(
            imported=len(planned),
            rejects=rejects,
            points=from_scaled_integer(points, ledger_repository.STORED_POINTS_SCALE),
        )

    async def apply(  # type: ignore[override]
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[DebitRow]], now: datetime, job_id: int
    ) -> BatchResult:
        holder_of, _, rejects = await self._resolve(connection, rows, lock=True)
        customer_ids = list(dict.fromkeys(holder.customer_id for holder in holder_of.values()))
        account_of = await self._regular_accounts(connection, customer_ids, now)
        drafts, drafted, dated_rejects = self._drafts(rows, holder_of, account_of, now, job_id)
        points, refused = await post_debits(
            connection,
            org_id=self.org.id,
            debits=drafts,
            allow_negative_balance=self.program.allow_negative_balance,
        )
        rejects = sorted(
            [*rejects, *dated_rejects, *self._refusals(drafted, refused)], key=lambda item: item[0].row_number
        )
        return BatchResult(imported=len(drafts) - len(refused), rejects=rejects, points=points)


class DebitsProfile(_HistoryProfile):
    name = ImportProfile.POINTS_DEBITS
    what = "a debits import"
    columns = Columns(
        required=("type", "amount"),
        one_of=((PROFILE_COLUMN, CARD_COLUMN),),
        optional=("date", "reason"),
    )

    async def start(self, connection: AsyncConnection, org: OrgConfig, config: PointsConfig) -> DebitsRun:
        return DebitsRun(org, self.program_of(org, config), config)


# --- Opening balances (PointsLedgerBulkJob) ---------------------------------------------------


class OpeningRow(NamedTuple):
    by_card: bool
    key: str
    category: PointsCategory
    balance: Decimal
    as_of: datetime
    expiry: datetime | None


class OpeningBalancesRun(PointsRun):
    def parse(self, row: Mapping[str, str]) -> OpeningRow | RowError:  # type: ignore[override]
        customer = _customer_key(row)
        if isinstance(customer, RowError):
            return customer
        category_text = row.get("category", "").strip().upper() or PointsCategory.REGULAR.value
        if category_text not in PointsCategory.__members__:
            return RowError("INVALID_CATEGORY", "must be REGULAR, PROMISED or TRIGGER_BASED", "category")
        balance = points_cell(
            row["balance"], "balance", "INVALID_BALANCE", self.program.code, self.program.points_decimal_places
        )
        if isinstance(balance, RowError):
            return balance
        as_of = parse_time(row["asof"], "asof", "")
        if isinstance(as_of, RowError):
            return as_of
        if as_of is None:
            return RowError("MISSING_VALUE", "asof is empty: when was the balance taken?", "asof")
        expiry = parse_time(row.get("expirydate", ""), "expirydate", "unlimited")
        if isinstance(expiry, RowError):
            return expiry
        if expiry is not None and expiry <= as_of:
            return RowError("INVALID_EXPIRY_DATE", "must be later than asof", "expirydate")
        return OpeningRow(*customer, PointsCategory(category_text), balance, as_of, expiry)

    def _started_refusals(
        self,
        rows: Sequence[ParsedRow[OpeningRow]],
        customer_of: Mapping[int, int],
        account_ids: Mapping[tuple[int, PointsCategory], int],
        history: Mapping[int, set[str]],
    ) -> tuple[list[int], list[tuple[ParsedRow[OpeningRow], RowError]]]:
        """The indexes of the rows that start their account's ledger, and the refusals of the rest."""
        started: set[tuple[int, PointsCategory]] = set()
        kept, rejects = [], []
        for index, customer_id in customer_of.items():
            row = rows[index]
            key = (customer_id, row.value.category)
            events = history.get(account_ids.get(key, 0), set())
            if key in started or EventType.POINTS_LEDGER_BULK_JOB.value in events:
                rejects.append(
                    (
                        row,
                        RowError(
                            "OPENING_BALANCE_EXISTS",
                            f"{row.value.key!r} has an opening balance in program {self.program.code} "
                            f"category {row.value.category.value} already",
                        ),
                    )
                )
            elif events:
                rejects.append(
                    (
                        row,
                        RowError(
                            "ACCOUNT_HAS_HISTORY",
                            f"customer {customer_id}'s {row.value.category.value} points in program "
                            f"{self.program.code} have entries already ({', '.join(sorted(events))}): an opening "
                            "balance comes before them",
                        ),
                    )
                )
            else:
                started.add(key)
                kept.append(index)
        return kept, rejects

    async def _resolve_dated(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[OpeningRow]], now: datetime, *, lock: bool
    ) -> tuple[dict[int, int], list[str], list[tuple[ParsedRow[OpeningRow], RowError]]]:
        """The customer per row index (known customers), the customerprofileids to register (those
        with a row left to import), and refusals: a balance taken after the import is refused
        before anyone is registered for it."""
        holder_of, to_register, rejects = await self._resolve(connection, rows, lock=lock)
        refused = {id(row) for row, _ in rejects}
        for row in rows:
            if row.value.as_of > now and id(row) not in refused:
                rejects.append(
                    (row, RowError("INVALID_ASOF_DATE", "a balance is taken at or before its import", "asof"))
                )
        late = {id(row) for row, _ in rejects}
        wanted = {row.value.key for row in rows if id(row) not in late and not row.value.by_card}
        customer_of = {index: holder.customer_id for index, holder in holder_of.items() if id(rows[index]) not in late}
        return customer_of, [key for key in to_register if key in wanted], rejects

    async def _account_ids(
        self, connection: AsyncConnection, customer_ids: Sequence[int], categories: set[PointsCategory]
    ) -> dict[tuple[int, PointsCategory], int]:
        found: dict[tuple[int, PointsCategory], int] = {}
        for category in sorted(categories):
            accounts = await ledger_repository.regular_account_ids(
                connection, customer_ids, program_id=self.program.id, category=category
            )
            found.update({(customer_id, category): account_id for customer_id, account_id in accounts.items()})
        return found

    async def check(  # type: ignore[override]
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[OpeningRow]], now: datetime
    ) -> BatchResult:
        customer_of, to_register, rejects = await self._resolve_dated(connection, rows, now, lock=False)
        known = set(customer_of)
        account_ids = await self._account_ids(
            connection, list(set(customer_of.values())), {row.value.category for row in rows}
        )
        history = await ledger_repository.event_types_on_accounts(
            connection, list(account_ids.values()), besides=EventType.CUSTOMER_REGISTRATION
        )
        # A customer the import would register starts with no history: keyed by a stand-in id.
        stand_in = {key: -1 - number for number, key in enumerate(to_register)}
        refused = {id(row) for row, _ in rejects}
        for index, row in enumerate(rows):
            if index not in customer_of and id(row) not in refused and row.value.key in stand_in:
                customer_of[index] = stand_in[row.value.key]
        kept, started_rejects = self._started_refusals(rows, customer_of, account_ids, history)
        result = BatchResult(rejects=sorted([*rejects, *started_rejects], key=lambda item: item[0].row_number))
        for index in kept:
            value = rows[index].value
            result.imported += 1
            result.points += value.balance
            if value.expiry is not None and value.expiry <= now:
                result.points_expired += value.balance
        result.customers_created = self._would_register.add_new(
            [rows[index].value.key for index in kept if index not in known]
        )
        return result

    async def apply(  # type: ignore[override]
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[OpeningRow]], now: datetime, job_id: int
    ) -> BatchResult:
        customer_of, to_register, rejects = await self._resolve_dated(connection, rows, now, lock=True)
        registered = await self._register(connection, to_register, now, job_id)
        refused = {id(row) for row, _ in rejects}
        for index, row in enumerate(rows):
            if index not in customer_of and id(row) not in refused and row.value.key in registered:
                customer_of[index] = registered[row.value.key]
        customer_ids = list(dict.fromkeys(customer_of.values()))
        categories = {rows[index].value.category for index in customer_of}
        # Open what a program added later lacks, then lock every account named before reading its
        # history, so two jobs at once cannot both start one account's ledger.
        await self._regular_accounts(connection, customer_ids, now)
        account_ids = await self._account_ids(connection, customer_ids, categories)
        await ledger_repository.lock_stored_balances(connection, list(account_ids.values()))
        history = await ledger_repository.event_types_on_accounts(
            connection, list(account_ids.values()), besides=EventType.CUSTOMER_REGISTRATION
        )
        kept, started_rejects = self._started_refusals(rows, customer_of, account_ids, history)
        credits = []
        for index in kept:
            value = rows[index].value
            customer_id = customer_of[index]
            credits.append(
                CreditDraft(
                    AccountRef(
                        account_ids[(customer_id, value.category)], customer_id, self.program.id, value.category
                    ),
                    value.balance,
                    value.as_of,
                    value.expiry,
                    event_type=EventType.POINTS_LEDGER_BULK_JOB,
                    entry_kind=EntryKind.OPENING_BALANCE,
                    import_job_id=job_id,
                )
            )
        expired = await post_credits_expiring_past_due(connection, org_id=self.org.id, credits=credits, now=now)
        return BatchResult(
            imported=len(credits),
            rejects=sorted([*rejects, *started_rejects], key=lambda item: item[0].row_number),
            customers_created=len(registered),
            points=sum((credit.points for credit in credits), Decimal(0)),
            points_expired=expired,
        )


class OpeningBalancesProfile(_HistoryProfile):
    name = ImportProfile.OPENING_BALANCES
    what = "an opening balances import"
    registers = True
    columns = Columns(
        required=("balance", "asof"),
        one_of=((PROFILE_COLUMN, CARD_COLUMN),),
        optional=("category", "expirydate"),
    )

    async def start(self, connection: AsyncConnection, org: OrgConfig, config: PointsConfig) -> OpeningBalancesRun:
        return OpeningBalancesRun(org, self.program_of(org, config), config)
