# State moves from the one-block-per-instance layout (before functions.tf and
# scheduler.tf iterated over local.functions / local.scheduler_jobs): the next
# plan of an existing state renames these instead of destroying and recreating
# them. Keep them until every environment's state (dev, prod) has been applied
# past the move; tests/infra checks that each former address is here.

moved {
  from = google_cloudfunctions2_function.cart_quote
  to   = google_cloudfunctions2_function.function["cart_quote"]
}

moved {
  from = google_cloudfunctions2_function.checkout
  to   = google_cloudfunctions2_function.function["checkout"]
}

moved {
  from = google_cloudfunctions2_function.order_paid
  to   = google_cloudfunctions2_function.function["order_paid"]
}

moved {
  from = google_cloudfunctions2_function.delivery_status
  to   = google_cloudfunctions2_function.function["delivery_status"]
}

moved {
  from = google_cloudfunctions2_function.expiry_sweep
  to   = google_cloudfunctions2_function.function["expiry_sweep"]
}

moved {
  from = google_cloudfunctions2_function.referral_reward
  to   = google_cloudfunctions2_function.function["referral_reward"]
}

moved {
  from = google_cloudfunctions2_function.sms_otp
  to   = google_cloudfunctions2_function.function["sms_otp"]
}

moved {
  from = google_cloudfunctions2_function.account
  to   = google_cloudfunctions2_function.function["account"]
}

moved {
  from = google_cloudfunctions2_function.admin
  to   = google_cloudfunctions2_function.function["admin"]
}

moved {
  from = google_cloud_scheduler_job.expiry_sweep
  to   = google_cloud_scheduler_job.job["expiry_sweep"]
}

moved {
  from = google_cloud_scheduler_job.delivery_poll
  to   = google_cloud_scheduler_job.job["delivery_poll"]
}
