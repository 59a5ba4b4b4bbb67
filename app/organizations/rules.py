"""Pure organisation rules: where a request happened, read from the org snapshot. No I/O."""

from __future__ import annotations

from app.kernel.errors import ValidationError
from app.organizations.config import OrgConfig, StoreConfig, TillConfig
from app.organizations.errors import StoreNotFoundError, TillNotFoundError


def resolve_store_and_till(
    org: OrgConfig, store_code: str | None, till_code: str | None, path: str
) -> tuple[StoreConfig | None, TillConfig | None]:
    """The store and till a request names by code (`path`.storeCode, `path`.tillCode): the store
    named, else the till's own store; (None, None) when it names neither. TILL_NOT_FOUND and
    STORE_NOT_FOUND for unknown codes, INVALID_INPUT on the till when it is another store's."""
    till = None
    if till_code is not None:
        till = org.till_by_code(till_code)
        if till is None:
            raise TillNotFoundError(f"no till with code {till_code!r}", field=f"{path}.tillCode")
    if store_code is None:
        return (org.store(till.store_id) if till is not None else None), till
    store = org.store_by_code(store_code)
    if store is None:
        raise StoreNotFoundError(f"no store with code {store_code!r}", field=f"{path}.storeCode")
    if till is not None and till.store_id != store.id:
        raise ValidationError(f"till {till.code!r} does not belong to store {store.code!r}", field=f"{path}.tillCode")
    return store, till
