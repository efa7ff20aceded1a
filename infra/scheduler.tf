# Cloud Scheduler jobs. Each calls a route of a function with an OIDC token of
# the scheduler service account; the audience is Scheduler's default, the full
# target URI (local.scheduled_uri), and the function's KOPILKA_SWEEP_AUDIENCE
# lists the URIs of every job that calls it (local.scheduled_audience in
# functions.tf). A job waits for its call as long as the function may run (its
# timeout_seconds).

locals {
  # job (name suffix) => the function and the route it calls
  scheduler_jobs = {
    expiry_sweep = {
      function    = "expiry_sweep"
      route       = "/run"
      description = "Expiry, stale reservations and unpaid orders, levels, notices, birthdays"
      schedule    = "*/15 * * * *"
    }
    delivery_poll = {
      function    = "delivery_status"
      route       = "/poll"
      description = "Boxberry, Russian Post and CDEK tracking of orders whose delivery_poll_at is due"
      schedule    = "0 * * * *"
    }
    # The messages' dispatcher (docs/messages.md): sends what is due and what an
    # Eventarc call missed (eventarc.tf). It shares expiry_sweep's one instance:
    # a minute that finds a sweep running is refused and the next one sends.
    dispatch = {
      function    = "expiry_sweep"
      route       = "/dispatch"
      description = "The messages' dispatcher: sends the outbox's due messages"
      schedule    = "* * * * *"
    }
  }

  # job => the URI it calls, which is also its OIDC audience
  scheduled_uri = { for job, spec in local.scheduler_jobs : job => "${local.function_urls[spec.function]}${spec.route}" }
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
    uri         = local.scheduled_uri[each.key]
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
