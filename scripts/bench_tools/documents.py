"""The GraphQL documents scripts/bench sends, copied from tests/documents.py (a fixed benchmark
does not change when the tests do). Every value travels as a variable: the parser and
validation caches key on the document text."""

TYPENAME = "{ __typename }"

ADD_TRANSACTION = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded {
      replayed
      itemStatus { success code message }
      transaction {
        id number type billClientId amount grossAmount discount eligibleAmount currencyCode billingTime
        outlierStatus source storeCode tillCode programCode notInterestedReason
        lineItems { serial itemCode variant qty rate value discount amount outlierStatus }
        sideEffects {
          __typename
          ... on PointsSideEffect { entityType customerId programCode awardedPoints rawAwardedPoints totalPoints }
          ... on SlabSideEffect { programCode previousSlabName previousSlabNumber upgradedSlabName upgradedSlabNumber }
        }
        customer {
          userId mobile email externalId firstname lastname type
          lifetimePoints loyaltyPoints lifetimePurchases currentSlab tierExpiryDate
          pointsSummaries {
            programCode redeemed expired returned adjusted lifetimePoints loyaltyPoints cumulativePurchases
            currentSlab slabSNo slabExpiryDate nextSlab nextSlabSerialNumber nextSlabDescription
          }
        }
      }
    }
    ... on Error { code message field }
    ... on DuplicateBillNumberError { existingTransactionId }
  }
}
"""

LEDGER_ENTRIES = """
query Ledger($customer: CustomerLookupInput!, $filter: LedgerFilterInput, $first: Int = 10, $after: String) {
  ledgerEntries(customer: $customer, filter: $filter, first: $first, after: $after) {
    __typename
    ... on LedgerEntryPage {
      customerId
      entries {
        id eventLogId eventType entryKind entryType programCode pointsCategory points pointsOnEvent balanceAfter
        eventSource storeCode tillCode transactionId transactionNumber createdAt
      }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""

# A mobile app's profile screen: the customer, its points per program and its latest bills.
CUSTOMER = """
query Customer($lookup: CustomerLookupInput!, $first: Int = 10) {
  customer(lookup: $lookup) {
    __typename
    ... on Customer {
      userId mobile email externalId firstname lastname
      loyaltyPoints lifetimePoints lifetimePurchases currentSlab
      identifiers { type value }
      pointsSummaries { programCode loyaltyPoints lifetimePoints cumulativePurchases currentSlab spendablePoints }
      transactions(first: $first) {
        nodes { id number amount billingTime }
        pageInfo { hasNextPage endCursor }
      }
    }
    ... on Error { code message field }
  }
}
"""
