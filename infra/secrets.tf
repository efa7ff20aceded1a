# Secret Manager secrets: provider credentials and token secrets. Terraform
# creates the empty secrets and who may read them; the values are added out of
# band (`gcloud secrets versions add`, README "Deploy"), so they never enter the
# state. Each function reads its own secrets as environment variables
# (secret_environment_variables in functions.tf); tests/infra checks that the
# readers below are exactly the functions that mount each secret.

locals {
  # secret (id suffix) => the functions that read it
  secret_readers = {
    token_secret         = ["account", "cart_quote", "checkout", "expiry_sweep", "sms_otp"] # KOPILKA_TOKEN_SECRET
    admin_token_secret   = ["admin", "console"]                                             # KOPILKA_ADMIN_TOKEN_SECRET
    otp_secret           = ["sms_otp"]                                                      # KOPILKA_OTP_SECRET
    payout_secret        = ["account", "admin", "console"]                                  # KOPILKA_PAYOUT_SECRET
    tilda_token          = ["checkout"]                                                     # KOPILKA_TILDA_TOKEN
    events_secret        = ["checkout"]                                                     # KOPILKA_EVENTS_SECRET
    cdek_token           = ["delivery_status"]                                              # KOPILKA_CDEK_TOKEN
    sweep_secret         = ["delivery_status", "expiry_sweep", "referral_reward"]           # KOPILKA_SWEEP_SECRET
    yookassa_secret_key  = ["checkout", "order_paid"]                                       # YOOKASSA_SECRET_KEY
    yoomoney_secret      = ["order_paid"]                                                   # YOOMONEY_NOTIFICATION_SECRET
    cdek_client_secret   = ["delivery_status"]                                              # CDEK_CLIENT_SECRET
    boxberry_token       = ["delivery_status"]                                              # BOXBERRY_TOKEN
    russianpost_password = ["delivery_status"]                                              # RUSSIANPOST_PASSWORD
    smsru_api_id         = ["expiry_sweep", "sms_otp"]                                      # SMSRU_API_ID
    telegram_bot_token   = ["expiry_sweep", "sms_otp"]                                      # TELEGRAM_BOT_TOKEN
    smartcaptcha_key     = ["sms_otp"]                                                      # SMARTCAPTCHA_SERVER_KEY
    telegram_oidc_secret = ["sms_otp"]                                                      # TELEGRAM_OIDC_SECRET
    smtp_password        = ["expiry_sweep"]                                                 # SMTP_PASSWORD
  }

  secret_access = merge([
    for secret, readers in local.secret_readers : {
      for function in readers : "${secret}/${function}" => { secret = secret, function = function }
    }
  ]...)
}

resource "google_secret_manager_secret" "secret" {
  for_each = local.secret_readers

  project   = var.project
  secret_id = "${local.prefix}-${replace(each.key, "_", "-")}"

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "reader" {
  for_each = local.secret_access

  project   = var.project
  secret_id = google_secret_manager_secret.secret[each.value.secret].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.value.function].email}"
}
