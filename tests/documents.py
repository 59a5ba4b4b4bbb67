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
      userId mobile email externalId cardNumber firstname lastname
      loyaltyPoints lifetimePoints lifetimePurchases currentSlab
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

# Everything the tests read of a customer's points: balances, each program's summary, the expiry
# schedule and the expired points (pages of $first).
CUSTOMER_POINTS = """
query Points($lookup: CustomerLookupInput!, $first: Int = 10, $after: String) {
  customer(lookup: $lookup) {
    __typename
    ... on Customer {
      userId externalId loyaltyPoints lifetimePoints
      pointsSummaries {
        programCode loyaltyPoints lifetimePoints expired pendingPoints promisedPoints triggerBasedPoints spendablePoints
      }
      expirySchedule(first: $first) { expiresOn programCode points }
      expiredPoints(first: $first, after: $after) {
        nodes { eventLogId expiredOn expiredAt programCode pointsCategory points }
        pageInfo { hasNextPage endCursor }
      }
    }
    ... on Error { code message field }
  }
}
"""

MERGE = """
mutation Merge($input: MergeCustomersInput!) {
  mergeCustomers(input: $input) {
    __typename
    ... on CustomersMerged {
      replayed victimUserId
      survivor { userId mobile loyaltyPoints identifiers { type value } pointsSummaries { programCode loyaltyPoints } }
    }
    ... on Error { code message field }
  }
}
"""

TRANSFER = """
mutation Transfer($input: TransferPointsInput!) {
  transferPoints(input: $input) {
    __typename
    ... on PointsTransferred {
      replayed fromBalanceAfter toBalanceAfter
      transfer {
        id fromUserId toUserId programCode programName points notes eventLogId createdAt
        from { userId mobile loyaltyPoints }
        to { userId mobile loyaltyPoints }
      }
    }
    ... on Error { code message field }
    ... on InsufficientPointsError { availablePoints requestedPoints }
  }
}
"""

RETURN_TRANSACTION_FIELDS = """
  id type number amount eligibleAmount returnType parentBillNumber pointsEarned returnedAmount returnedPoints
  reversedRedemptionPoints returnedTransactionId exchangeReturnId storeCode tillCode billingTime
  lineItems { serial itemCode qty amount lineType returnsSerial returnedQty }
  sideEffects {
    __typename
    ... on PointsReturnedSideEffect { programCode returnedPoints pointsNotRecovered }
    ... on RedemptionReversedSideEffect { redemptionId reversedPoints }
    ... on SlabDowngradeSideEffect {
      programCode previousSlabName previousSlabNumber downgradedSlabName downgradedSlabNumber
    }
    ... on PointsSideEffect { awardedPoints }
    ... on CustomerSideEffect { registered }
  }
  customer {
    userId loyaltyPoints lifetimePurchases currentSlab tierExpiryDate
    pointsSummaries { programCode cumulativePurchases returned }
  }
"""

RETURN_TRANSACTION = f"""
mutation Return($input: TransactionReturnInput!) {{
  returnTransaction(input: $input) {{
    __typename
    ... on TransactionReturned {{
      replayed pointsReturned pointsNotRecovered redemptionPointsReversed
      itemStatus {{ success code message }}
      transaction {{ {RETURN_TRANSACTION_FIELDS} }}
      returnedTransaction {{ {RETURN_TRANSACTION_FIELDS} }}
      exchangePurchase {{ {RETURN_TRANSACTION_FIELDS} }}
    }}
    ... on Error {{ code message field }}
    ... on ReturnExceedsBillError {{ remainingAmount remainingPoints remainingQty }}
    ... on DuplicateBillNumberError {{ existingTransactionId }}
  }}
}}
"""

DEFINE_TRACKER = """
mutation Define($input: DefineTrackerInput!) {
  defineTracker(input: $input) {
    __typename
    ... on TrackerDefined { created tracker { code name level programCode pointsPerUnit } }
    ... on Error { code message field }
  }
}
"""

TRACKER_HISTORY = """
query History($customer: CustomerLookupInput!, $trackerCode: String, $first: Int = 10, $after: String) {
  customerTrackerHistory(customer: $customer, trackerCode: $trackerCode, first: $first, after: $after) {
    __typename
    ... on TrackerHistoryPage {
      customerId
      records { id trackerCode transactionId billNumber lineItemSerial itemCode value points eventLogId }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""

SAVE_TEMPLATE = """
mutation Save($input: SaveImportTemplateInput!) {
  saveImportTemplate(input: $input) {
    __typename
    ... on ImportTemplate { name profile identity version configuration }
    ... on Error { code message field }
  }
}
"""
