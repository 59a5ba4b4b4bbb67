"""GraphQL documents the tests send, written once."""

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
          ... on CustomerSideEffect { customerId registered mergedCustomerIds skippedIdentifiers { type value } }
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

CUSTOMER = """
query Customer($lookup: CustomerLookupInput!, $first: Int = 10, $after: String) {
  customer(lookup: $lookup) {
    __typename
    ... on Customer {
      userId mobile email externalId cardNumber firstname lastname loyaltyPoints lifetimePoints lifetimePurchases currentSlab
      identifiers { type value }
      pointsSummaries { programCode loyaltyPoints lifetimePoints cumulativePurchases currentSlab }
      transactions(first: $first, after: $after) {
        nodes { id number amount lineItems { serial itemCode amount } }
        pageInfo { hasNextPage endCursor }
      }
    }
    ... on Error { code message field }
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

CLOSING_BALANCE = """
query Closing($customer: CustomerLookupInput!, $filter: LedgerFilterInput) {
  ledgerClosingBalance(customer: $customer, filter: $filter) {
    __typename
    ... on LedgerClosingBalance { customerId balance asOfEntryId }
    ... on Error { code message field }
  }
}
"""
