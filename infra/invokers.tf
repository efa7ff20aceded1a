# Who may invoke which function (roles/run.invoker on the function's Cloud Run
# service; a gen2 function's service carries the function's name).

locals {
  function_services = {
    account         = google_cloudfunctions2_function.account.name
    admin           = google_cloudfunctions2_function.admin.name
    cart_quote      = google_cloudfunctions2_function.cart_quote.name
    checkout        = google_cloudfunctions2_function.checkout.name
    delivery_status = google_cloudfunctions2_function.delivery_status.name
    expiry_sweep    = google_cloudfunctions2_function.expiry_sweep.name
    order_paid      = google_cloudfunctions2_function.order_paid.name
    referral_reward = google_cloudfunctions2_function.referral_reward.name
    sms_otp         = google_cloudfunctions2_function.sms_otp.name
  }

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
  service  = local.function_services[each.key]
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_service_iam_member" "scheduler" {
  for_each = toset(local.scheduled_functions)

  project  = var.project
  location = var.region
  service  = local.function_services[each.key]
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_run_service_iam_member" "operator" {
  for_each = local.operator_access

  project  = var.project
  location = var.region
  service  = local.function_services[each.value.function]
  role     = "roles/run.invoker"
  member   = each.value.member
}
