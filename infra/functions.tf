# One google_cloudfunctions2_function per folder in functions/ (entry point =
# folder name = the resource name). Sources come from dist/ via var.packages
# (storage.tf). Sizing: concurrency above 1 needs a whole vCPU, and THREADS
# tells functions-framework's gunicorn to serve that many requests at once
# (RELIABILITY.md section 2). Each block says why its numbers are what they are.

locals {
  prefix = "kopilka-${var.env}"

  # Every folder in functions/ (tests/infra checks this list and the resources).
  function_names = ["account", "admin", "cart_quote", "checkout", "delivery_status", "expiry_sweep", "order_paid", "referral_reward", "sms_otp"]

  # Public at the IAM layer (allUsers may invoke): the storefront's, the
  # webhooks' and the back office's functions; each checks its own callers.
  public_functions = ["account", "admin", "cart_quote", "checkout", "delivery_status", "order_paid", "sms_otp"]

  # The cloudfunctions.net address of each function: known before the function
  # exists, so the scheduled functions can name their own OIDC audience.
  function_urls = { for name in local.function_names : name => "https://${var.region}-${var.project}.cloudfunctions.net/${local.prefix}-${replace(name, "_", "-")}" }

  # The OIDC audience a scheduled function accepts: Cloud Scheduler's default
  # audience is the job's full target URI (scheduler.tf).
  scheduled_audience = {
    delivery_status = "${local.function_urls["delivery_status"]}/poll"
    expiry_sweep    = "${local.function_urls["expiry_sweep"]}/run"
  }

  # KOPILKA_ENV: the environment name in logs.
  app_env = var.env == "prod" ? "production" : "development"

  shop_origins  = join(",", var.shop_origins)
  admin_origins = join(",", var.admin_origins)
}

resource "google_cloudfunctions2_function" "cart_quote" {
  name     = "${local.prefix}-cart-quote"
  project  = var.project
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = "cart_quote"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.package["cart_quote"].name
      }
    }
  }

  service_config {
    # Storefront hot path: quoted on every cart change, so one instance stays warm
    # (RELIABILITY.md: a Python + Firestore cold start is seconds). A quote is a
    # couple of point reads, I/O bound: 16 requests share one vCPU.
    min_instance_count               = 1
    max_instance_count               = 20
    max_instance_request_concurrency = 16
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = 30
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["cart_quote"].email

    environment_variables = {
      KOPILKA_PROGRAM         = var.program
      KOPILKA_ENV             = local.app_env
      GOOGLE_CLOUD_PROJECT    = var.project
      THREADS                 = "16"
      KOPILKA_ALLOWED_ORIGINS = local.shop_origins
    }

    secret_environment_variables {
      key        = "KOPILKA_TOKEN_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["token_secret"].secret_id
      version    = "latest"
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader, google_project_iam_member.datastore_user]
}

resource "google_cloudfunctions2_function" "checkout" {
  name     = "${local.prefix}-checkout"
  project  = var.project
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = "checkout"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.package["checkout"].name
      }
    }
  }

  service_config {
    # Storefront checkout and Tilda's order webhook. A checkout is one contended
    # transaction on the customer's account; 8 per instance keeps lock waits short.
    # Called once per order, so no warm instance.
    min_instance_count               = 0
    max_instance_count               = 20
    max_instance_request_concurrency = 8
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = 60
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["checkout"].email

    environment_variables = {
      KOPILKA_PROGRAM         = var.program
      KOPILKA_ENV             = local.app_env
      GOOGLE_CLOUD_PROJECT    = var.project
      THREADS                 = "8"
      KOPILKA_ALLOWED_ORIGINS = local.shop_origins
    }

    secret_environment_variables {
      key        = "KOPILKA_TOKEN_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["token_secret"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "KOPILKA_TILDA_TOKEN"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["tilda_token"].secret_id
      version    = "latest"
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader, google_project_iam_member.datastore_user]
}

resource "google_cloudfunctions2_function" "order_paid" {
  name     = "${local.prefix}-order-paid"
  project  = var.project
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = "order_paid"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.package["order_paid"].name
      }
    }
  }

  service_config {
    # YooKassa / YooMoney webhooks: bursts and redelivery storms, each request mostly
    # waiting on the YooKassa re-fetch and Firestore, so a higher concurrency (32)
    # absorbs a storm on few instances; providers redeliver, so no warm instance.
    min_instance_count               = 0
    max_instance_count               = 10
    max_instance_request_concurrency = 32
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = 60
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["order_paid"].email

    environment_variables = {
      KOPILKA_PROGRAM         = var.program
      KOPILKA_ENV             = local.app_env
      GOOGLE_CLOUD_PROJECT    = var.project
      THREADS                 = "32"
      KOPILKA_ALLOWED_ORIGINS = local.shop_origins
      YOOKASSA_SHOP_ID        = var.yookassa_shop_id
    }

    secret_environment_variables {
      key        = "YOOKASSA_SECRET_KEY"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["yookassa_secret_key"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "YOOMONEY_NOTIFICATION_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["yoomoney_secret"].secret_id
      version    = "latest"
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader, google_project_iam_member.datastore_user]
}

resource "google_cloudfunctions2_function" "delivery_status" {
  name     = "${local.prefix}-delivery-status"
  project  = var.project
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = "delivery_status"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.package["delivery_status"].name
      }
    }
  }

  service_config {
    # CDEK's webhook (public, secret URL segment) plus the hourly /poll from Cloud
    # Scheduler: webhook bursts wait on CDEK's API, so concurrency 32; /poll is
    # bounded (batch x max_pages) within the 300 s timeout; few instances needed.
    min_instance_count               = 0
    max_instance_count               = 5
    max_instance_request_concurrency = 32
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = 300
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["delivery_status"].email

    environment_variables = {
      KOPILKA_PROGRAM          = var.program
      KOPILKA_ENV              = local.app_env
      GOOGLE_CLOUD_PROJECT     = var.project
      THREADS                  = "32"
      KOPILKA_ALLOWED_ORIGINS  = local.shop_origins
      KOPILKA_SWEEP_AUDIENCE   = local.scheduled_audience["delivery_status"]
      KOPILKA_SCHEDULER_EMAILS = google_service_account.scheduler.email
      CDEK_CLIENT_ID           = var.cdek_client_id
      RUSSIANPOST_LOGIN        = var.russianpost_login
    }

    secret_environment_variables {
      key        = "KOPILKA_CDEK_TOKEN"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["cdek_token"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "KOPILKA_SWEEP_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["sweep_secret"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "CDEK_CLIENT_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["cdek_client_secret"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "BOXBERRY_TOKEN"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["boxberry_token"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "RUSSIANPOST_PASSWORD"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["russianpost_password"].secret_id
      version    = "latest"
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader, google_project_iam_member.datastore_user]
}

resource "google_cloudfunctions2_function" "expiry_sweep" {
  name     = "${local.prefix}-expiry-sweep"
  project  = var.project
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = "expiry_sweep"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.package["expiry_sweep"].name
      }
    }
  }

  service_config {
    # Scheduled every 15 minutes. Passes are idempotent and resumable, but one
    # instance handling one run at a time (max 1, concurrency 1) keeps two sweeps
    # from contending on the same accounts; 540 s for the bounded passes.
    min_instance_count               = 0
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = 540
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["expiry_sweep"].email

    environment_variables = {
      KOPILKA_PROGRAM          = var.program
      KOPILKA_ENV              = local.app_env
      GOOGLE_CLOUD_PROJECT     = var.project
      THREADS                  = "1"
      KOPILKA_ALLOWED_ORIGINS  = local.shop_origins
      KOPILKA_SWEEP_AUDIENCE   = local.scheduled_audience["expiry_sweep"]
      KOPILKA_SCHEDULER_EMAILS = google_service_account.scheduler.email
    }

    secret_environment_variables {
      key        = "KOPILKA_SWEEP_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["sweep_secret"].secret_id
      version    = "latest"
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader, google_project_iam_member.datastore_user]
}

resource "google_cloudfunctions2_function" "referral_reward" {
  name     = "${local.prefix}-referral-reward"
  project  = var.project
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = "referral_reward"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.package["referral_reward"].name
      }
    }
  }

  service_config {
    # Internal retry path for a partner reward, called by the back office with the
    # sweep secret: rare, small; max 2 instances of 4 requests is plenty.
    min_instance_count               = 0
    max_instance_count               = 2
    max_instance_request_concurrency = 4
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = 60
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["referral_reward"].email

    environment_variables = {
      KOPILKA_PROGRAM         = var.program
      KOPILKA_ENV             = local.app_env
      GOOGLE_CLOUD_PROJECT    = var.project
      THREADS                 = "4"
      KOPILKA_ALLOWED_ORIGINS = local.shop_origins
    }

    secret_environment_variables {
      key        = "KOPILKA_SWEEP_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["sweep_secret"].secret_id
      version    = "latest"
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader, google_project_iam_member.datastore_user]
}

resource "google_cloudfunctions2_function" "sms_otp" {
  name     = "${local.prefix}-sms-otp"
  project  = var.project
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = "sms_otp"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.package["sms_otp"].name
      }
    }
  }

  service_config {
    # Storefront login: a customer waits for the SMS code, so one instance stays
    # warm (RELIABILITY.md: min_instances >= 1 on quote and OTP). Requests wait on
    # SMS.ru and Firestore: 16 per instance.
    min_instance_count               = 1
    max_instance_count               = 20
    max_instance_request_concurrency = 16
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = 30
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["sms_otp"].email

    environment_variables = {
      KOPILKA_PROGRAM         = var.program
      KOPILKA_ENV             = local.app_env
      GOOGLE_CLOUD_PROJECT    = var.project
      THREADS                 = "16"
      KOPILKA_ALLOWED_ORIGINS = local.shop_origins
      SMS_SENDER              = var.sms_sender
      SMSRU_TEST              = var.sms_test ? "1" : "0"
    }

    secret_environment_variables {
      key        = "KOPILKA_TOKEN_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["token_secret"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "KOPILKA_OTP_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["otp_secret"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "SMSRU_API_ID"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["smsru_api_id"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "TELEGRAM_BOT_TOKEN"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["telegram_bot_token"].secret_id
      version    = "latest"
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader, google_project_iam_member.datastore_user]
}

resource "google_cloudfunctions2_function" "account" {
  name     = "${local.prefix}-account"
  project  = var.project
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = "account"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.package["account"].name
      }
    }
  }

  service_config {
    # The storefront's personal account: read-mostly pages (balance, history), so
    # 16 per instance; opened after login, a cold start there is acceptable.
    min_instance_count               = 0
    max_instance_count               = 20
    max_instance_request_concurrency = 16
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = 30
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["account"].email

    environment_variables = {
      KOPILKA_PROGRAM         = var.program
      KOPILKA_ENV             = local.app_env
      GOOGLE_CLOUD_PROJECT    = var.project
      THREADS                 = "16"
      KOPILKA_ALLOWED_ORIGINS = local.shop_origins
      KOPILKA_SHOP_URL        = var.shop_url
    }

    secret_environment_variables {
      key        = "KOPILKA_TOKEN_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["token_secret"].secret_id
      version    = "latest"
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader, google_project_iam_member.datastore_user]
}

resource "google_cloudfunctions2_function" "admin" {
  name     = "${local.prefix}-admin"
  project  = var.project
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = "admin"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.package["admin"].name
      }
    }
  }

  service_config {
    # Back office: a handful of staff; public at the IAM layer because the browser UI
    # cannot send Google identity tokens (every route but /login needs an admin
    # token). Mass accruals and the liability report run in batches: 120 s.
    min_instance_count               = 0
    max_instance_count               = 5
    max_instance_request_concurrency = 8
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = 120
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["admin"].email

    environment_variables = {
      KOPILKA_PROGRAM         = var.program
      KOPILKA_ENV             = local.app_env
      GOOGLE_CLOUD_PROJECT    = var.project
      THREADS                 = "8"
      KOPILKA_ALLOWED_ORIGINS = local.admin_origins
    }

    secret_environment_variables {
      key        = "KOPILKA_TOKEN_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["token_secret"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "KOPILKA_ADMIN_TOKEN_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.secret["admin_token_secret"].secret_id
      version    = "latest"
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader, google_project_iam_member.datastore_user]
}
