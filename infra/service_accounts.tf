# One runtime service account per function, each with Firestore access only
# (roles/datastore.user) plus, in secrets.tf, secretAccessor on its own secrets.
# Cloud Scheduler has its own account that may invoke the scheduled functions only.

resource "google_service_account" "function" {
  for_each = toset(local.function_names)

  project      = var.project
  account_id   = "kp-${var.env}-${replace(each.key, "_", "-")}"
  display_name = "Kopilka ${var.env} ${each.key} function"
}

resource "google_project_iam_member" "datastore_user" {
  for_each = toset(local.function_names)

  project = var.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_service_account" "scheduler" {
  project      = var.project
  account_id   = "kp-${var.env}-scheduler"
  display_name = "Kopilka ${var.env} Cloud Scheduler (OIDC caller of the sweeps)"
}
