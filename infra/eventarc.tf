# The outbox's Eventarc trigger (docs/messages.md): each new document in
# `outbox` calls expiry_sweep's code at its CloudEvent entry `dispatch_outbox`,
# which runs the same dispatcher as POST /dispatch, so a message due now goes
# out within seconds instead of at the next minute's scheduler job. A gen2
# function has one trigger, so this is a second function from the same
# package (scripts/package.py zips functions/expiry_sweep/main.py, which
# defines both entries). It runs as expiry_sweep's runtime account (the same
# code, the same Firestore access and secrets); the trigger delivers the events
# as its own account, which may only receive Eventarc events and invoke this
# one service.
#
# A lost or refused event costs nothing: the message stays in the outbox and the
# minute's `dispatch` job sends it. So no retry (a retried event would only run
# the dispatcher again), and few instances: each call sends up to 200 due
# messages, and calls that run together split the outbox by their leases.

locals {
  dispatch_outbox = {
    entry_point                      = "dispatch_outbox"
    package                          = "expiry_sweep"
    min_instance_count               = 0
    max_instance_count               = 2
    max_instance_request_concurrency = 1
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = 120
  }
}

resource "google_service_account" "outbox_trigger" {
  project      = var.project
  account_id   = "kp-${var.env}-outbox-trigger"
  display_name = "Kopilka ${var.env} Eventarc trigger of the outbox dispatcher"
}

# Project-wide by Eventarc's design: a trigger's account receives its events
# with this role; it grants nothing in Firestore or any other service.
resource "google_project_iam_member" "outbox_trigger_receiver" {
  project = var.project
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.outbox_trigger.email}"
}

resource "google_cloudfunctions2_function" "dispatch_outbox" {
  name     = "${local.prefix}-dispatch-outbox"
  project  = var.project
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = local.dispatch_outbox.entry_point
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.package[local.dispatch_outbox.package].name
      }
    }
  }

  service_config {
    min_instance_count               = local.dispatch_outbox.min_instance_count
    max_instance_count               = local.dispatch_outbox.max_instance_count
    max_instance_request_concurrency = local.dispatch_outbox.max_instance_request_concurrency
    available_cpu                    = local.dispatch_outbox.available_cpu
    available_memory                 = local.dispatch_outbox.available_memory
    timeout_seconds                  = local.dispatch_outbox.timeout_seconds
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function[local.dispatch_outbox.package].email
    # expiry_sweep's environment and secrets: the same dispatcher, the same channels
    environment_variables = merge(local.common_env, { THREADS = tostring(local.dispatch_outbox.max_instance_request_concurrency) }, local.functions[local.dispatch_outbox.package].env)

    dynamic "secret_environment_variables" {
      for_each = local.functions[local.dispatch_outbox.package].secrets
      content {
        key        = secret_environment_variables.value.key
        project_id = var.project
        secret     = google_secret_manager_secret.secret[secret_environment_variables.value.secret].secret_id
        version    = "latest"
      }
    }
  }

  event_trigger {
    trigger_region        = var.firestore_location
    event_type            = "google.cloud.firestore.document.v1.created"
    service_account_email = google_service_account.outbox_trigger.email
    retry_policy          = "RETRY_POLICY_DO_NOT_RETRY"

    event_filters {
      attribute = "database"
      value     = google_firestore_database.main.name
    }

    event_filters {
      attribute = "document"
      value     = "outbox/{key}"
      operator  = "match-path-pattern"
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader, google_project_iam_member.datastore_user, google_project_iam_member.outbox_trigger_receiver]
}

# The trigger's account may invoke this one service and no other.
resource "google_cloud_run_service_iam_member" "outbox_trigger" {
  project  = var.project
  location = var.region
  service  = google_cloudfunctions2_function.dispatch_outbox.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.outbox_trigger.email}"
}
