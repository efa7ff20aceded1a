# Cloud Scheduler jobs. Each calls a function route with an OIDC token of the
# scheduler service account; the audience is Scheduler's default, the full
# target URI, which is what the function's KOPILKA_SWEEP_AUDIENCE lists
# (local.scheduled_audience in functions.tf). A job waits for its call as long
# as the function may run (its timeout_seconds).

locals {
  # job (name suffix) => the function it calls (its route: local.scheduled_audience)
  scheduler_jobs = {
    expiry_sweep = {
      function    = "expiry_sweep"
      description = "Expiry, stale reservations and unpaid orders, levels, notices, birthdays"
      schedule    = "*/15 * * * *"
    }
    delivery_poll = {
      function    = "delivery_status"
      description = "Boxberry, Russian Post and CDEK tracking of orders whose delivery_poll_at is due"
      schedule    = "0 * * * *"
    }
  }
}

resource "google_cloud_scheduler_job" "job" {
  for_each = local.scheduler_jobs

  name             = "${local.prefix}-${replace(each.key, "_", "-")}"
  project          = var.project
  region           = var.region
  description      = each.value.description
  schedule         = each.value.schedule
  time_zone        = "Europe/Moscow"
  attempt_deadline = "${local.functions[each.value.function].timeout_seconds}s"

  retry_config {
    retry_count          = 1
    min_backoff_duration = "60s"
    max_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = local.scheduled_audience[each.value.function]
    body        = base64encode("{}")
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.scheduler.email
    }
  }

  depends_on = [google_cloud_run_service_iam_member.scheduler]
}
