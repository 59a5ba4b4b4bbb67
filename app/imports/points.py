"""Profile TALON_ONE_POINTS: loyalty points in Talon.One's "Import loyalty points" format.

Columns (header names case-insensitive, in any order): customerprofileid (profile-based
programs: the customer's integration id, an EXTERNAL_ID identifier here) or identifier
(card-based programs: a loyalty card of the program), amount, and optionally startdate,
expirydate, subledgerid, reason.

Choices where the format is silent:
- An unknown customerprofileid registers a new customer with that EXTERNAL_ID (as Talon.One
  creates the profile), unless the configuration says `register_unknown_customers: false`
  (then CUSTOMER_NOT_FOUND). A card is found by its number, by its external id where one is
  set (a number wins), or else as a customer's CARD_NUMBER identifier. An unknown card, or one
  not ACTIVE (blocked, lost, replaced), is refused (CARD_NOT_FOUND, CARD_INACTIVE): points go to
  the card holder's account in the card's program.
- amount > 0, with no more decimal places than the program keeps (points_decimal_places).
- startdate: RFC3339 with an offset, `immediate` or empty (= when the row is imported). A
  later date makes the points pending (a lot active from then); an earlier one is kept as the
  lot's start. expirydate: RFC3339, `unlimited` or empty; it must be later than startdate.
  A row already past its expiry is credited and expired in the same transaction (a Points
  Expiry dated at its expiry date); the job counts those points (`points_expired`).
- The points go to the REGULAR account of the import's program, as one POINTS_IMPORT event
  ("Imported points") per row with a POINTS_ALLOCATION entry and one lot; the event carries the
  job id and the row's reason.
- subledgerid names a subledger of the program; an unknown one is created on first use unless
  `create_missing_subledgers: false` (then SUBLEDGER_NOT_FOUND). The lot carries it.
- A customer the import registers gets a standing and accounts in the import's program; the
  org's other programs open on the customer's first use there (as for a program added later).
- Duplicate rows are imported like any row: the format has no row key, and two equal awards
  are two awards. Exactly-once holds per file (and per import key), not per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncConnection

from app.cards import repository as cards_repository
from app.cards.models import CardStatus
from app.customers import repository as customers_repository
from app.customers.bulk import register_customers
from app.customers.service import Activity, open_missing_programs
from app.imports import repository
from app.imports.cells import points_cell
from app.imports.holders import merged_customers, text_refusal
from app.imports.models import ImportProfile
from app.imports.profiles import BatchResult, Columns, ParsedRow, Profile, ProfileRun, RowError
from app.imports.seen import DiskSet
from app.kernel.enums import IdentifierType, PointsCategory
from app.kernel.errors import NotFoundError, ValidationError
from app.ledger import repository as ledger_repository
from app.ledger import service as ledger
from app.ledger.credits import CreditDraft, post_credits_expiring_past_due
from app.ledger.models import EntryKind, EventType
from app.organizations.config import OrgConfig, ProgramConfig

PROFILE_COLUMN = "customerprofileid"
CARD_COLUMN = "identifier"
IDENTIFIER_CHARS_MAX = 254
SUBLEDGER_CHARS_MAX = 64
REASON_CHARS_MAX = 255


class Holder(NamedTuple):
    """Whom a row's key names: the customer, whom they were merged into (None: not merged) and,
    for a card, its status."""

    customer_id: int
    merged_into: int | None
    card_status: str | None


@dataclass(frozen=True)
class PointsConfig:
    program_code: str
    register_unknown_customers: bool = True
    create_missing_subledgers: bool = True


class PointsRow(NamedTuple):
    by_card: bool  # identifier (a card) rather than customerprofileid
    key: str
    amount: Decimal
    start: datetime | None  # None: immediate (when imported)
    expiry: datetime | None  # None: unlimited
    subledger: str | None
    reason: str | None


@lru_cache(maxsize=4096)  # and its dates (expiry at month ends, a campaign's start)
def parse_time(value: str, column: str, keyword: str) -> datetime | RowError | None:
    text_value = value.strip()
    if not text_value or text_value.lower() == keyword:
        return None
    code = f"INVALID_{column.removesuffix('date').upper()}_DATE".replace("__", "_")  # date: INVALID_DATE
    try:
        moment = datetime.fromisoformat(text_value)
    except ValueError:
        alternative = f" or {keyword!r}" if keyword else ""
        return RowError(
            code, f"{text_value[:40]!r} is not an RFC3339 time (e.g. 2009-11-10T23:00:00Z){alternative}", column
        )
    if moment.tzinfo is None or "t" not in text_value.lower():
        return RowError(
            code, f"{text_value[:40]!r} needs a date, a time and an offset (Z or +hh:mm) as RFC3339 has them", column
        )
    return moment


class PointsRun(ProfileRun[PointsRow]):
    def __init__(self, org: OrgConfig, program: ProgramConfig, config: PointsConfig) -> None:
        self.org = org
        self.program = program
        self.config = config
        # Dry runs count a new customer once, however many batches name them (on disk: flat memory).
        self._would_register = DiskSet()

    def close(self) -> None:
        self._would_register.close()

    def parse(self, row: Mapping[str, str]) -> PointsRow | RowError:
        by_card = CARD_COLUMN in row
        key_column = CARD_COLUMN if by_card else PROFILE_COLUMN
        key = row[key_column].strip()
        if not key:
            return RowError("MISSING_VALUE", f"{key_column} is empty", key_column)
        refusal = text_refusal(key, key_column, IDENTIFIER_CHARS_MAX, "INVALID_IDENTIFIER")
        if refusal is not None:
            return refusal
        amount = points_cell(
            row["amount"], "amount", "INVALID_AMOUNT", self.program.code, self.program.points_decimal_places
        )
        if isinstance(amount, RowError):
            return amount
        start = parse_time(row.get("startdate", ""), "startdate", "immediate")
        if isinstance(start, RowError):
            return start
        expiry = parse_time(row.get("expirydate", ""), "expirydate", "unlimited")
        if isinstance(expiry, RowError):
            return expiry
        if start is not None and expiry is not None and expiry <= start:
            return RowError("INVALID_EXPIRY_DATE", "must be later than startdate", "expirydate")
        subledger = row.get("subledgerid", "").strip() or None
        if subledger is not None:
            refusal = text_refusal(subledger, "subledgerid", SUBLEDGER_CHARS_MAX, "INVALID_SUBLEDGER")
            if refusal is not None:
                return refusal
        reason = row.get("reason", "").strip() or None
        if reason is not None:
            refusal = text_refusal(reason, "reason", REASON_CHARS_MAX, "INVALID_REASON", identifier=False)
            if refusal is not None:
                return refusal
        return PointsRow(by_card, key, amount, start, expiry, subledger, reason)

    # --- Resolving rows to customers and subledgers -------------------------------------

    async def _holders(self, connection: AsyncConnection, keys: Sequence[str], *, by_card: bool) -> dict[str, Holder]:
        """Who each key names (its customer, whether merged). customerprofileids: one statement
        for the batch's keys (the keys bound as one list, the merge read in the same join); cards:
        one for the cards, one for card number identifiers, one for whether their holders were merged."""
        if not by_card:
            owners = await repository.identifier_owners(
                connection, org_id=self.org.id, kind=IdentifierType.EXTERNAL_ID.value, values=keys
            )
            return {key: Holder(customer_id, merged_into, None) for key, (customer_id, merged_into) in owners.items()}
        # A loyalty card of the program, by number or external id; else a customer holding the
        # number as their card number identifier (no card row: such a card is active).
        cards = await cards_repository.cards_by_key(
            connection, org_id=self.org.id, program_id=self.program.id, keys=keys
        )
        named = {key: (row.customer_id, row.status) for key, row in cards.items()}
        holders = await customers_repository.customers_by_identifier(
            connection,
            org_id=self.org.id,
            kind=IdentifierType.CARD_NUMBER,
            values=[key for key in keys if key not in named],
        )
        named.update({key: (customer_id, CardStatus.ACTIVE.value) for key, customer_id in holders.items()})
        merged = await merged_customers(connection, [customer_id for customer_id, _ in named.values()], lock=False)
        return {
            key: Holder(customer_id, merged.get(customer_id), status) for key, (customer_id, status) in named.items()
        }

    async def _register(
        self, connection: AsyncConnection, keys: Sequence[str], now: datetime, job_id: int
    ) -> dict[str, int]:
        """Register the customers these customerprofileids name, in the job's program: id by key."""
        if not keys:
            return {}
        return await register_customers(
            connection,
            self.org,
            IdentifierType.EXTERNAL_ID,
            keys,
            now,
            details={"import_job_id": job_id},
            programs=[self.program],
        )

    async def _subledgers(self, connection: AsyncConnection, codes: Sequence[str]) -> dict[str, int]:
        """The program's subledgers with these codes, in one statement for the batch."""
        return await cards_repository.subledger_ids(connection, program_id=self.program.id, codes=codes)

    async def _resolve(
        self,
        connection: AsyncConnection,
        rows: Sequence[ParsedRow[Any]],
        *,
        lock: bool,
    ) -> tuple[dict[int, Holder], list[str], list[tuple[ParsedRow[Any], RowError]]]:
        """The holder per row index (known customers), the customerprofileids to register, and
        refusals. Rows of any profile whose values name their customer as these do (`by_card`, `key`)."""
        rejects: list[tuple[ParsedRow[Any], RowError]] = []
        holder_of: dict[int, Holder] = {}
        profile_keys = list(dict.fromkeys(row.value.key for row in rows if not row.value.by_card))
        card_keys = list(dict.fromkeys(row.value.key for row in rows if row.value.by_card))
        owners = await self._holders(connection, profile_keys, by_card=False) if profile_keys else {}
        unknown = [key for key in profile_keys if key not in owners]
        if unknown and lock and self.config.register_unknown_customers and connection.dialect.name == "postgresql":
            # Whoever else registers these identifiers (a purchase, another import) waits for us,
            # then finds them taken: read again once locked.
            # The keys `customers_service.identifier_lock_keys` gives a purchase naming them.
            await repository.lock_keys_at_once(
                connection, [f"identifier:{self.org.id}:{IdentifierType.EXTERNAL_ID.value}:{key}" for key in unknown]
            )
            owners.update(await self._holders(connection, unknown, by_card=False))
            unknown = [key for key in unknown if key not in owners]
        found_cards = await self._holders(connection, card_keys, by_card=True) if card_keys else {}
        if lock and connection.dialect.name == "postgresql":
            # Lock the holders (id order) so no merge moves them before the batch commits, and
            # take whether they are merged from the locked rows. SQLite's one writer has the
            # batch to itself since its first read.
            holders = [*owners.values(), *found_cards.values()]
            merged = await merged_customers(connection, [holder.customer_id for holder in holders], lock=True)
            owners = {
                key: holder._replace(merged_into=merged.get(holder.customer_id)) for key, holder in owners.items()
            }
            found_cards = {
                key: holder._replace(merged_into=merged.get(holder.customer_id)) for key, holder in found_cards.items()
            }
        unknown_set = set(unknown)
        for index, row in enumerate(rows):
            value = row.value
            if value.by_card:
                holder = found_cards.get(value.key)
                if holder is None:
                    rejects.append(
                        (
                            row,
                            RowError(
                                "CARD_NOT_FOUND",
                                f"no loyalty card {value.key!r} in program {self.program.code}",
                                CARD_COLUMN,
                            ),
                        )
                    )
                    continue
                if holder.card_status != CardStatus.ACTIVE.value:
                    rejects.append(
                        (row, RowError("CARD_INACTIVE", f"loyalty card {value.key!r} is not active", CARD_COLUMN))
                    )
                    continue
            elif value.key in unknown_set:
                if not self.config.register_unknown_customers:
                    rejects.append(
                        (
                            row,
                            RowError(
                                "CUSTOMER_NOT_FOUND", f"no customer with integration id {value.key!r}", PROFILE_COLUMN
                            ),
                        )
                    )
                continue
            else:
                holder = owners[value.key]
            if holder.merged_into is not None:
                rejects.append(
                    (
                        row,
                        RowError(
                            "CUSTOMER_MERGED",
                            f"customer {holder.customer_id} was merged into customer {holder.merged_into}",
                            CARD_COLUMN if value.by_card else PROFILE_COLUMN,
                        ),
                    )
                )
                continue
            holder_of[index] = holder
        to_register = unknown if self.config.register_unknown_customers else []
        return holder_of, to_register, rejects

    async def _subledger_rejects(
        self,
        connection: AsyncConnection,
        rows: Sequence[ParsedRow[PointsRow]],
    ) -> tuple[dict[str, int], list[str], list[tuple[ParsedRow[PointsRow], RowError]]]:
        codes = list(dict.fromkeys(row.value.subledger for row in rows if row.value.subledger is not None))
        found = await self._subledgers(connection, codes) if codes else {}
        missing = [code for code in codes if code not in found]
        rejects = []
        if missing and not self.config.create_missing_subledgers:
            missing_set = set(missing)
            rejects = [
                (
                    row,
                    RowError(
                        "SUBLEDGER_NOT_FOUND",
                        f"no subledger {row.value.subledger!r} in program {self.program.code}",
                        "subledgerid",
                    ),
                )
                for row in rows
                if row.value.subledger in missing_set
            ]
            missing = []
        return found, missing, rejects

    # --- The profile interface ------------------------------------------------------------

    async def check(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[PointsRow]], now: datetime
    ) -> BatchResult:
        _, to_register, rejects = await self._resolve(connection, rows, lock=False)
        _, _, subledger_rejects = await self._subledger_rejects(connection, rows)
        rejects = _one_per_row(rejects, subledger_rejects)
        refused = {id(row) for row, _ in rejects}
        result = BatchResult(rejects=rejects)
        register = set(to_register)
        registering = []
        for row in rows:
            if id(row) in refused:
                continue
            if row.value.key in register and not row.value.by_card:
                registering.append(row.value.key)
            result.imported += 1
            result.points += row.value.amount
            if row.value.expiry is not None and row.value.expiry <= now:
                result.points_expired += row.value.amount
        result.customers_created = self._would_register.add_new(registering)
        return result

    async def apply(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[PointsRow]], now: datetime, job_id: int
    ) -> BatchResult:
        holder_of, to_register, rejects = await self._resolve(connection, rows, lock=True)
        subledger_ids, missing_subledgers, subledger_rejects = await self._subledger_rejects(connection, rows)
        rejects = _one_per_row(rejects, subledger_rejects)
        refused_ids = {id(row) for row, _ in rejects}
        accepted = [(index, row) for index, row in enumerate(rows) if id(row) not in refused_ids]
        wanted_keys = {row.value.key for _, row in accepted if not row.value.by_card}
        to_register = [key for key in to_register if key in wanted_keys]
        registered = await self._register(connection, to_register, now, job_id)
        if missing_subledgers:
            await repository.lock_keys_at_once(
                connection, [f"subledger:{self.program.id}:{code}" for code in missing_subledgers]
            )
            subledger_ids.update(await self._subledgers(connection, missing_subledgers))
            still_missing = [code for code in missing_subledgers if code not in subledger_ids]
            if still_missing:
                created = await cards_repository.insert_subledgers(
                    connection, org_id=self.org.id, program_id=self.program.id, codes=still_missing, now=now
                )
                subledger_ids.update(zip(still_missing, created, strict=True))

        # Only customers with a row imported: a refused row opens nothing for its customer.
        customer_ids = list(
            dict.fromkeys(
                [
                    *(holder_of[index].customer_id for index, _ in accepted if index in holder_of),
                    *registered.values(),
                ]
            )
        )
        accounts = await self._regular_accounts(connection, customer_ids, now)
        regular = [
            accounts[registered[row.value.key] if index not in holder_of else holder_of[index].customer_id]
            for index, row in accepted
        ]
        credits = [
            CreditDraft(
                account,
                value.amount,
                value.start or now,
                value.expiry,
                event_type=EventType.POINTS_IMPORT,
                entry_kind=EntryKind.POINTS_ALLOCATION,
                import_job_id=job_id,
                reason=value.reason,
                subledger_id=subledger_ids[value.subledger] if value.subledger is not None else None,
            )
            for account, value in zip(regular, (row.value for _, row in accepted), strict=True)
        ]
        expired = await post_credits_expiring_past_due(connection, org_id=self.org.id, credits=credits, now=now)
        return BatchResult(
            imported=len(credits),
            rejects=rejects,
            customers_created=len(registered),
            points=sum((credit.points for credit in credits), Decimal(0)),
            points_expired=expired,
        )

    async def _regular_accounts(
        self,
        connection: AsyncConnection,
        customer_ids: Sequence[int],
        now: datetime,
        category: PointsCategory = PointsCategory.REGULAR,
    ) -> dict[int, ledger.AccountRef]:
        """The REGULAR (or `category`) account in the program of each customer, in one statement;
        a program added after the customer registered opens here."""
        if not customer_ids:
            return {}
        program_id = self.program.id
        found = await ledger_repository.regular_account_ids(
            connection, customer_ids, program_id=program_id, category=category
        )
        for customer_id in customer_ids:
            if customer_id not in found:  # the program was added after they registered: rare
                await open_missing_programs(connection, self.org, customer_id, Activity(None, None, None), now)
        if len(found) < len(customer_ids):
            found = await ledger_repository.regular_account_ids(
                connection, customer_ids, program_id=program_id, category=category
            )
        assert len(found) == len(customer_ids), "every customer has an account in the program"
        return {
            customer_id: ledger.AccountRef(found[customer_id], customer_id, program_id, category)
            for customer_id in customer_ids
        }


def _one_per_row(
    *reject_lists: list[tuple[ParsedRow[PointsRow], RowError]],
) -> list[tuple[ParsedRow[PointsRow], RowError]]:
    """The first refusal of each row (a row is reported once), in row order."""
    seen: set[int] = set()
    kept = []
    for row, error in sorted((item for items in reject_lists for item in items), key=lambda item: item[0].row_number):
        if id(row) not in seen:
            seen.add(id(row))
            kept.append((row, error))
    return kept


class PointsProfile(Profile[PointsConfig]):
    name = ImportProfile.TALON_ONE_POINTS
    columns = Columns(
        required=("amount",),
        one_of=((PROFILE_COLUMN, CARD_COLUMN),),
        optional=("startdate", "expirydate", "subledgerid", "reason"),
    )

    def configure(self, raw: Mapping[str, Any]) -> PointsConfig:
        program_code = raw.get("program_code")
        if not isinstance(program_code, str) or not program_code.strip():
            raise ValidationError("a points import names its program", field="programCode")
        for name in ("register_unknown_customers", "create_missing_subledgers"):
            if not isinstance(raw.get(name, True), bool):
                raise ValidationError("must be true or false", field=name)
        unknown = set(raw) - {"program_code", "register_unknown_customers", "create_missing_subledgers"}
        if unknown:
            raise ValidationError(f"unknown configuration {sorted(unknown)[0]!r}", field="configuration")
        return PointsConfig(
            program_code.strip(),
            raw.get("register_unknown_customers", True),
            raw.get("create_missing_subledgers", True),
        )

    def configuration_document(self, config: PointsConfig) -> dict[str, Any]:
        return {
            "program_code": config.program_code,
            "register_unknown_customers": config.register_unknown_customers,
            "create_missing_subledgers": config.create_missing_subledgers,
        }

    async def start(self, connection: AsyncConnection, org: OrgConfig, config: PointsConfig) -> PointsRun:
        program = org.program_by_code(config.program_code)
        if program is None:
            raise NotFoundError(f"no program {config.program_code!r} in this organisation", field="programCode")
        return PointsRun(org, program, config)
