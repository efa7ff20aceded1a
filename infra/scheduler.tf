# Cloud Scheduler jobs. Each calls a function route with an OIDC token of the
# scheduler service account; the audience is Scheduler's default, the full
# target URI, which is what the function's KOPILKA_SWEEP_AUDIENCE lists
# (local.scheduled_audience in functions.tf).

resource "google_cloud_scheduler_job" "expiry_sweep" {
  name             = "${local.prefix}-expiry-sweep"
  project          = var.project
  region           = var.region
  description      = "Expiry, stale reservations and unpaid orders, levels, notices, birthdays"
  schedule         = "*/15 * * * *"
  time_zone        = "Europe/Moscow"
  attempt_deadline = "540s"

  retry_config {
    retry_count          = 1
    min_backoff_duration = "60s"
    max_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = local.scheduled_audience["expiry_sweep"]
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

resource "google_cloud_scheduler_job" "delivery_poll" {
  name             = "${local.prefix}-delivery-poll"
  project          = var.project
  region           = var.region
  description      = "Boxberry, Russian Post and CDEK tracking of orders whose delivery_poll_at is due"
  schedule         = "0 * * * *"
  time_zone        = "Europe/Moscow"
  attempt_deadline = "300s"

  retry_config {
    retry_count          = 1
    min_backoff_duration = "60s"
    max_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = local.scheduled_audience["delivery_status"]
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
