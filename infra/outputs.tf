output "function_urls" {
  description = "Every function's URL (service_config.uri)."
  value = {
    account         = google_cloudfunctions2_function.account.service_config[0].uri
    admin           = google_cloudfunctions2_function.admin.service_config[0].uri
    cart_quote      = google_cloudfunctions2_function.cart_quote.service_config[0].uri
    checkout        = google_cloudfunctions2_function.checkout.service_config[0].uri
    delivery_status = google_cloudfunctions2_function.delivery_status.service_config[0].uri
    expiry_sweep    = google_cloudfunctions2_function.expiry_sweep.service_config[0].uri
    order_paid      = google_cloudfunctions2_function.order_paid.service_config[0].uri
    referral_reward = google_cloudfunctions2_function.referral_reward.service_config[0].uri
    sms_otp         = google_cloudfunctions2_function.sms_otp.service_config[0].uri
  }
}

output "storefront" {
  description = "What the shop's scripts call: quote, checkout, login (sms_otp) and the personal account."
  value = {
    cart_quote = google_cloudfunctions2_function.cart_quote.service_config[0].uri
    checkout   = google_cloudfunctions2_function.checkout.service_config[0].uri
    sms_otp    = google_cloudfunctions2_function.sms_otp.service_config[0].uri
    account    = google_cloudfunctions2_function.account.service_config[0].uri
  }
}

output "webhooks" {
  description = "Webhook URLs to register with the providers; <...> is the secret's value from Secret Manager."
  value = {
    yookassa = "${google_cloudfunctions2_function.order_paid.service_config[0].uri}/yookassa"
    yoomoney = "${google_cloudfunctions2_function.order_paid.service_config[0].uri}/yoomoney"
    cdek     = "${google_cloudfunctions2_function.delivery_status.service_config[0].uri}/cdek/<${google_secret_manager_secret.secret["cdek_token"].secret_id}>"
    tilda    = "${google_cloudfunctions2_function.checkout.service_config[0].uri}/tilda/<${google_secret_manager_secret.secret["tilda_token"].secret_id}>"
  }
}

output "admin_url" {
  description = "The back office's API."
  value       = google_cloudfunctions2_function.admin.service_config[0].uri
}
