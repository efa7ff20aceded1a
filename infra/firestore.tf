# Firestore (Native mode) with its indexes and TTL policies.
#
# Indexes: every query the code makes is declared in
# shared/adapters/firestore_queries.py (tests/infra keeps that list in sync with
# the code). Today each one filters and/or orders on a single field (plus the
# implicit __name__), which Firestore serves from its automatic single-field
# indexes; it refuses a composite index over one field ("this index is not
# necessary"). So there is no google_firestore_index yet: a query over two
# fields must add one here, and tests/infra fails until it does. Equally, no
# field below may switch off single-field indexing of a queried field.

resource "google_firestore_database" "main" {
  project     = var.project
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  # The ledger's units of work rely on pessimistic (lock-based) transactions.
  concurrency_mode                  = "PESSIMISTIC"
  point_in_time_recovery_enablement = var.env == "prod" ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.env == "prod" ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = "ABANDON"
}

# TTL: short-lived identity records carry `expires_at` (shared/adapters/repositories/identity.py).
# Expired documents are deleted within about a day and stay readable until then,
# so the code still checks expires_at itself. `index_config {}` turns off the
# single-field indexes of expires_at: nothing queries it, and a timestamp written
# in increasing order is an index hotspot.
locals {
  ttl_collections = ["otp_codes", "otp_rate", "ip_rate", "otp_sends", "sms_budget", "refresh_tokens", "refresh_families", "oidc_nonces"]
}

resource "google_firestore_field" "ttl" {
  for_each = toset(local.ttl_collections)

  project    = var.project
  database   = google_firestore_database.main.name
  collection = each.key
  field      = "expires_at"

  ttl_config {}
  index_config {}
}
