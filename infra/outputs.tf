output "function_urls" {
  description = "Every function's URL (service_config.uri)."
  value       = { for name, function in google_cloudfunctions2_function.function : name => function.service_config[0].uri }
}

output "storefront" {
  description = "What the shop's scripts call: quote, checkout, login (sms_otp) and the personal account."
  value       = { for name in ["cart_quote", "checkout", "sms_otp", "account"] : name => google_cloudfunctions2_function.function[name].service_config[0].uri }
}

output "webhooks" {
  description = "Webhook URLs to register with the providers; <...> is the secret's value from Secret Manager."
  value = {
    yookassa = "${google_cloudfunctions2_function.function["order_paid"].service_config[0].uri}/yookassa"
    yoomoney = "${google_cloudfunctions2_function.function["order_paid"].service_config[0].uri}/yoomoney"
    cdek     = "${google_cloudfunctions2_function.function["delivery_status"].service_config[0].uri}/cdek/<${google_secret_manager_secret.secret["cdek_token"].secret_id}>"
    tilda    = "${google_cloudfunctions2_function.function["checkout"].service_config[0].uri}/tilda/<${google_secret_manager_secret.secret["tilda_token"].secret_id}>"
  }
}

output "admin_url" {
  description = "The back office's API."
  value       = google_cloudfunctions2_function.function["admin"].service_config[0].uri
}

output "console_url" {
  description = "The back-office console: open it in a browser (its own run.app host, pages at its root)."
  value       = google_cloudfunctions2_function.function["console"].service_config[0].uri
}

output "kit_url" {
  description = "Where the storefront kit is served (null until a kit is built and packaged)."
  value       = var.kit == null ? null : "${local.kit_base_url}/${google_storage_bucket_object.kit[0].name}"
}

output "storefront_snippet" {
  description = "The tag for Tilda's Site settings → More → HTML code for the HEAD: the kit, pinned by its integrity, with the storefront functions' URLs and, with telegram_client_id, «Войти через Telegram» (null until a kit is built and packaged)."
  value = var.kit == null ? null : format(
    "<script async src=\"%s/%s\" integrity=\"%s\" crossorigin=\"anonymous\" %s></script>",
    local.kit_base_url,
    google_storage_bucket_object.kit[0].name,
    var.kit.integrity,
    join(" ", concat(
      [for pair in local.kit_attributes : "${pair[1]}=\"${trimsuffix(google_cloudfunctions2_function.function[pair[0]].service_config[0].uri, "/")}\""],
      var.telegram_client_id == "" ? [] : ["data-telegram-client-id=\"${var.telegram_client_id}\""],
    )),
  )
}
