# One google_cloudfunctions2_function per folder in functions/ (entry point =
# folder name = the key in local.functions), all from the one resource below.
# Sources come from dist/ via var.packages (storage.tf). Sizing: concurrency
# above 1 needs a whole vCPU, and THREADS (set from the concurrency) tells
# functions-framework's gunicorn to serve that many requests at once. Each entry
# says why its numbers are what they are.
# moved.tf carries the addresses of the former one-block-per-function layout.

locals {
  prefix = "kopilka-${var.env}"

  # Every folder in functions/ (tests/infra checks this list, local.functions and the folders).
  function_names = ["account", "admin", "cart_quote", "checkout", "console", "delivery_status", "expiry_sweep", "order_paid", "referral_reward", "sms_otp"]

  # Public at the IAM layer (allUsers may invoke): the storefront's, the
  # webhooks' and the back office's functions; each checks its own callers.
  public_functions = [for name, function in local.functions : name if function.public]

  # The cloudfunctions.net address of each function: known before the function
  # exists, so the scheduled functions can name their own OIDC audience.
  function_urls = { for name in local.function_names : name => "https://${var.region}-${var.project}.cloudfunctions.net/${local.prefix}-${replace(name, "_", "-")}" }

  # The OIDC audiences a scheduled function accepts, comma-separated: Cloud
  # Scheduler's default audience is the job's full target URI, so one per job
  # that calls the function (scheduler.tf).
  scheduled_audience = { for name in local.scheduled_functions : name => join(",", sort([for job, spec in local.scheduler_jobs : local.scheduled_uri[job] if spec.function == name])) }

  # KOPILKA_ENV: the environment name in logs.
  app_env = var.env == "prod" ? "production" : "development"

  # The storefront functions answer CORS for the shop's origins and always for
  # the origin of shop_url, the address its pages (and the kit on them) are served from.
  shop_origin   = lower(regex("^https://[^/]+", var.shop_url))
  shop_origins  = join(",", distinct(concat(var.shop_origins, [local.shop_origin])))
  admin_origins = join(",", var.admin_origins)

  # Environment every function gets; THREADS (= the concurrency) is added per
  # function, then each function's own `env`.
  common_env = {
    KOPILKA_PROGRAM      = var.program
    KOPILKA_ENV          = local.app_env
    GOOGLE_CLOUD_PROJECT = var.project
  }

  # Per function: service_config sizing and ingress, `public` (allUsers may
  # invoke, invokers.tf), extra environment variables (`env`) and the secrets
  # mounted as environment variables (`secrets`: variable => key in
  # local.secret_readers, in mount order).
  functions = {
    # Storefront hot path: quoted on every cart change, so one instance stays warm
    # (a Python + Firestore cold start takes seconds). A quote is a
    # couple of point reads, I/O bound: 16 requests share one vCPU.
    cart_quote = {
      min_instance_count               = 1
      max_instance_count               = 20
      max_instance_request_concurrency = 16
      available_cpu                    = "1"
      available_memory                 = "512Mi"
      timeout_seconds                  = 30
      ingress_settings                 = "ALLOW_ALL"
      public                           = true
      env = {
        KOPILKA_ALLOWED_ORIGINS = local.shop_origins
        KOPILKA_SHOP_URL        = var.shop_url # the partner dashboard's link in messages
      }
      secrets = [
        { key = "KOPILKA_TOKEN_SECRET", secret = "token_secret" },
      ]
    }

    # Storefront checkout, the Tilda cart's order and Tilda's post-payment webhook
    # (which fetches the payment from YooKassa; a checkout may create one). A checkout
    # is one contended transaction on the customer's account; 8 per instance keeps
    # lock waits short. Called once per order, so no warm instance.
    checkout = {
      min_instance_count               = 0
      max_instance_count               = 20
      max_instance_request_concurrency = 8
      available_cpu                    = "1"
      available_memory                 = "512Mi"
      timeout_seconds                  = 60
      ingress_settings                 = "ALLOW_ALL"
      public                           = true
      env = {
        KOPILKA_SHOP_URL        = var.shop_url # the partner dashboard's link in messages
        KOPILKA_ALLOWED_ORIGINS = local.shop_origins
        YOOKASSA_SHOP_ID        = var.yookassa_shop_id
      }
      secrets = [
        { key = "KOPILKA_TOKEN_SECRET", secret = "token_secret" },
        { key = "KOPILKA_TILDA_TOKEN", secret = "tilda_token" },
        { key = "KOPILKA_EVENTS_SECRET", secret = "events_secret" },
        { key = "YOOKASSA_SECRET_KEY", secret = "yookassa_secret_key" },
      ]
    }

    # YooKassa / YooMoney webhooks: bursts and redelivery storms, each request mostly
    # waiting on the YooKassa re-fetch and Firestore, so a higher concurrency (32)
    # absorbs a storm on few instances; providers redeliver, so no warm instance.
    order_paid = {
      min_instance_count               = 0
      max_instance_count               = 10
      max_instance_request_concurrency = 32
      available_cpu                    = "1"
      available_memory                 = "512Mi"
      timeout_seconds                  = 60
      ingress_settings                 = "ALLOW_ALL"
      public                           = true
      env = {
        KOPILKA_SHOP_URL        = var.shop_url # the partner dashboard's link in messages
        KOPILKA_ALLOWED_ORIGINS = local.shop_origins
        YOOKASSA_SHOP_ID        = var.yookassa_shop_id
      }
      secrets = [
        { key = "YOOKASSA_SECRET_KEY", secret = "yookassa_secret_key" },
        { key = "YOOMONEY_NOTIFICATION_SECRET", secret = "yoomoney_secret" },
      ]
    }

    # CDEK's webhook (public, secret URL segment) plus the hourly /poll from Cloud
    # Scheduler: webhook bursts wait on CDEK's API, so concurrency 32; /poll is
    # bounded (batch x max_pages) within the 300 s timeout; few instances needed.
    delivery_status = {
      min_instance_count               = 0
      max_instance_count               = 5
      max_instance_request_concurrency = 32
      available_cpu                    = "1"
      available_memory                 = "512Mi"
      timeout_seconds                  = 300
      ingress_settings                 = "ALLOW_ALL"
      public                           = true
      env = {
        KOPILKA_SHOP_URL         = var.shop_url # the partner dashboard's link in messages
        KOPILKA_ALLOWED_ORIGINS  = local.shop_origins
        KOPILKA_SWEEP_AUDIENCE   = local.scheduled_audience["delivery_status"]
        KOPILKA_SCHEDULER_EMAILS = google_service_account.scheduler.email
        CDEK_CLIENT_ID           = var.cdek_client_id
        RUSSIANPOST_LOGIN        = var.russianpost_login
      }
      secrets = [
        { key = "KOPILKA_CDEK_TOKEN", secret = "cdek_token" },
        { key = "KOPILKA_SWEEP_SECRET", secret = "sweep_secret" },
        { key = "CDEK_CLIENT_SECRET", secret = "cdek_client_secret" },
        { key = "BOXBERRY_TOKEN", secret = "boxberry_token" },
        { key = "RUSSIANPOST_PASSWORD", secret = "russianpost_password" },
      ]
    }

    # Scheduled every 15 minutes. Passes are idempotent and resumable, but one
    # instance handling one run at a time (max 1, concurrency 1) keeps two sweeps
    # from contending on the same accounts; 540 s for the bounded passes.
    expiry_sweep = {
      min_instance_count               = 0
      max_instance_count               = 1
      max_instance_request_concurrency = 1
      available_cpu                    = "1"
      available_memory                 = "512Mi"
      timeout_seconds                  = 540
      ingress_settings                 = "ALLOW_ALL"
      public                           = false
      # The messages' dispatcher (/dispatch, and the dispatch_outbox entry in
      # eventarc.tf) sends by SMS and Telegram with the storefront's sender and
      # bot, and by e-mail when smtp_host is set; a letter's unsubscribe link is
      # signed with the customer token secret and opens the account function.
      env = {
        KOPILKA_SHOP_URL         = var.shop_url # the partner dashboard's link in messages
        KOPILKA_ALLOWED_ORIGINS  = local.shop_origins
        KOPILKA_SWEEP_AUDIENCE   = local.scheduled_audience["expiry_sweep"]
        KOPILKA_SCHEDULER_EMAILS = google_service_account.scheduler.email
        SMS_SENDER               = var.sms_sender
        SMSRU_TEST               = var.sms_test ? "1" : "0"
        SMTP_HOST                = var.smtp_host
        SMTP_PORT                = tostring(var.smtp_port)
        SMTP_USER                = var.smtp_user
        SMTP_FROM                = var.smtp_from
        KOPILKA_ACCOUNT_URL      = local.function_urls["account"]
      }
      secrets = [
        { key = "KOPILKA_SWEEP_SECRET", secret = "sweep_secret" },
        { key = "SMSRU_API_ID", secret = "smsru_api_id" },
        { key = "TELEGRAM_BOT_TOKEN", secret = "telegram_bot_token" },
        { key = "KOPILKA_TOKEN_SECRET", secret = "token_secret" },
        { key = "SMTP_PASSWORD", secret = "smtp_password" },
      ]
    }

    # Internal retry path for a partner reward, called by the back office with the
    # sweep secret: rare, small; max 2 instances of 4 requests is plenty.
    referral_reward = {
      min_instance_count               = 0
      max_instance_count               = 2
      max_instance_request_concurrency = 4
      available_cpu                    = "1"
      available_memory                 = "512Mi"
      timeout_seconds                  = 60
      ingress_settings                 = "ALLOW_ALL"
      public                           = false
      env = {
        KOPILKA_SHOP_URL        = var.shop_url # the partner dashboard's link in messages
        KOPILKA_ALLOWED_ORIGINS = local.shop_origins
      }
      secrets = [
        { key = "KOPILKA_SWEEP_SECRET", secret = "sweep_secret" },
      ]
    }

    # Storefront login: a customer waits for the SMS code, so one instance stays
    # warm, as on the cart quote: a shopper waits on both. Requests wait on
    # SMS.ru and Firestore: 16 per instance.
    sms_otp = {
      min_instance_count               = 1
      max_instance_count               = 20
      max_instance_request_concurrency = 16
      available_cpu                    = "1"
      available_memory                 = "512Mi"
      timeout_seconds                  = 30
      ingress_settings                 = "ALLOW_ALL"
      public                           = true
      env = {
        KOPILKA_ALLOWED_ORIGINS  = local.shop_origins
        SMS_SENDER               = var.sms_sender
        SMSRU_TEST               = var.sms_test ? "1" : "0"
        KOPILKA_SMS_DAILY_BUDGET = tostring(var.sms_daily_budget)
      }
      secrets = [
        { key = "KOPILKA_TOKEN_SECRET", secret = "token_secret" },
        { key = "KOPILKA_OTP_SECRET", secret = "otp_secret" },
        { key = "SMSRU_API_ID", secret = "smsru_api_id" },
        { key = "TELEGRAM_BOT_TOKEN", secret = "telegram_bot_token" },
        { key = "SMARTCAPTCHA_SERVER_KEY", secret = "smartcaptcha_key" },
        { key = "TELEGRAM_OIDC_SECRET", secret = "telegram_oidc_secret" },
      ]
    }

    # The storefront's personal account: read-mostly pages (balance, history), so
    # 16 per instance; opened after login, a cold start there is acceptable.
    account = {
      min_instance_count               = 0
      max_instance_count               = 20
      max_instance_request_concurrency = 16
      available_cpu                    = "1"
      available_memory                 = "512Mi"
      timeout_seconds                  = 30
      ingress_settings                 = "ALLOW_ALL"
      public                           = true
      env = {
        KOPILKA_ALLOWED_ORIGINS = local.shop_origins
        KOPILKA_SHOP_URL        = var.shop_url
      }
      secrets = [
        { key = "KOPILKA_TOKEN_SECRET", secret = "token_secret" },
        { key = "KOPILKA_PAYOUT_SECRET", secret = "payout_secret" },
      ]
    }

    # Back office: a handful of staff; public at the IAM layer because the browser UI
    # cannot send Google identity tokens (every route but /login needs an admin
    # token). Mass accruals and the liability report run in batches: 120 s. A login's
    # Argon2id check takes 64 MiB: 1 GiB holds eight concurrent ones beside the app.
    admin = {
      min_instance_count               = 0
      max_instance_count               = 5
      max_instance_request_concurrency = 8
      available_cpu                    = "1"
      available_memory                 = "1Gi"
      timeout_seconds                  = 120
      ingress_settings                 = "ALLOW_ALL"
      public                           = true
      # The customer token secret is not mounted: the back office verifies no customer
      # token, and compares its own secret against the customer secret's fingerprint.
      env = {
        KOPILKA_ALLOWED_ORIGINS          = local.admin_origins
        KOPILKA_TOKEN_SECRET_FINGERPRINT = var.token_secret_fingerprint
        KOPILKA_SHOP_URL                 = var.shop_url # the partner dashboard's link in payout messages
      }
      secrets = [
        { key = "KOPILKA_ADMIN_TOKEN_SECRET", secret = "admin_token_secret" },
        { key = "KOPILKA_PAYOUT_SECRET", secret = "payout_secret" },
      ]
    }

    # The back-office console: server-rendered pages for a handful of staff, on
    # the same use cases and secrets as the admin API. Its answers are pages and
    # a session read per request; a page renders in tens of milliseconds, so
    # eight people share one vCPU and nobody waits for an instance but the first.
    console = {
      min_instance_count               = 0
      max_instance_count               = 3
      max_instance_request_concurrency = 8
      available_cpu                    = "1"
      available_memory                 = "1Gi"
      timeout_seconds                  = 120
      ingress_settings                 = "ALLOW_ALL"
      public                           = true
      env = {
        KOPILKA_TOKEN_SECRET_FINGERPRINT = var.token_secret_fingerprint
        KOPILKA_CONSOLE_IDLE_MINUTES     = tostring(var.console_idle_minutes)
      }
      secrets = [
        { key = "KOPILKA_ADMIN_TOKEN_SECRET", secret = "admin_token_secret" },
        { key = "KOPILKA_PAYOUT_SECRET", secret = "payout_secret" },
      ]
    }
  }
}

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions

  name     = "${local.prefix}-${replace(each.key, "_", "-")}"
  project  = var.project
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = each.key
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.package[each.key].name
      }
    }
  }

  service_config {
    min_instance_count               = each.value.min_instance_count
    max_instance_count               = each.value.max_instance_count
    max_instance_request_concurrency = each.value.max_instance_request_concurrency
    available_cpu                    = each.value.available_cpu
    available_memory                 = each.value.available_memory
    timeout_seconds                  = each.value.timeout_seconds
    ingress_settings                 = each.value.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function[each.key].email

    environment_variables = merge(local.common_env, { THREADS = tostring(each.value.max_instance_request_concurrency) }, each.value.env)

    dynamic "secret_environment_variables" {
      for_each = each.value.secrets
      content {
        key        = secret_environment_variables.value.key
        project_id = var.project
        secret     = google_secret_manager_secret.secret[secret_environment_variables.value.secret].secret_id
        version    = "latest"
      }
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader, google_project_iam_member.datastore_user]
}
