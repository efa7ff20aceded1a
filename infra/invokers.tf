# Who may invoke which function (roles/run.invoker on the function's Cloud Run
# service; a gen2 function's service carries the function's name).

locals {
  # Functions Cloud Scheduler calls (scheduler.tf); nothing else.
  scheduled_functions = ["delivery_status", "expiry_sweep"]

  # Internal functions an operator may call by hand (with the sweep secret).
  operator_access = merge([
    for name in ["expiry_sweep", "referral_reward"] : {
      for member in var.operators : "${name}/${member}" => { function = name, member = member }
    }
  ]...)
}

# The storefront's, the webhooks' and the back office's functions are public at
# the IAM layer: browsers and YooKassa / CDEK / Tilda cannot present Google
# identity tokens. Each route checks its caller itself (customer or admin token,
# provider allowlist and re-fetch, secret URL segment, scheduler OIDC).
resource "google_cloud_run_service_iam_member" "public" {
  for_each = toset(local.public_functions)

  project  = var.project
  location = var.region
  service  = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_service_iam_member" "scheduler" {
  for_each = toset(local.scheduled_functions)

  project  = var.project
  location = var.region
  service  = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_run_service_iam_member" "operator" {
  for_each = local.operator_access

  project  = var.project
  location = var.region
  service  = google_cloudfunctions2_function.function[each.value.function].name
  role     = "roles/run.invoker"
  member   = each.value.member
}
