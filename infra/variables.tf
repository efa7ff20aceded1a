variable "env" {
  description = "Environment: dev or prod (resource names carry it)."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.env)
    error_message = "env must be dev or prod."
  }
}

variable "project" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of the functions, the scheduler jobs and the source bucket."
  type        = string
  default     = "europe-west3"
}

variable "firestore_location" {
  description = "Firestore location (a region such as europe-west3, or the eur3 multi-region). Cannot change later."
  type        = string
  default     = "europe-west3"
}

variable "program" {
  description = "KOPILKA_PROGRAM: the program id in Firestore (programs/{program})."
  type        = string
  default     = "biomiq"
}

variable "shop_origins" {
  description = "KOPILKA_ALLOWED_ORIGINS of the storefront functions: the shop's origins (scheme://host), e.g. its own domain and the Tilda project's *.tilda.ws address; shop_url's origin is added to them."
  type        = list(string)

  validation {
    condition     = alltrue([for origin in var.shop_origins : can(regex("^https?://[a-z0-9.-]+(:[0-9]+)?$", origin))])
    error_message = "shop_origins are origins: scheme://host[:port] in lower case, without a path or a trailing slash."
  }
}

variable "telegram_client_id" {
  description = "The shop bot's id (the number before the colon of its token): the storefront snippet's data-telegram-client-id, «Войти через Telegram» in the kit's login forms. Empty: no Telegram button."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[0-9]*$", var.telegram_client_id))
    error_message = "telegram_client_id is the bot's numeric id (the part of its token before the colon)."
  }
}

variable "admin_origins" {
  description = "KOPILKA_ALLOWED_ORIGINS of the admin function: the back-office UI's origins."
  type        = list(string)
}

variable "shop_url" {
  description = "KOPILKA_SHOP_URL: the storefront address partners' referral links point to; its origin is allowed to call the storefront functions."
  type        = string

  validation {
    condition     = can(regex("^https://[a-z0-9.-]+(:[0-9]+)?(/.*)?$", var.shop_url))
    error_message = "shop_url is the shop's https:// address (host in lower case)."
  }
}

variable "yookassa_shop_id" {
  description = "YOOKASSA_SHOP_ID (not a secret; the key is in Secret Manager)."
  type        = string
}

variable "cdek_client_id" {
  description = "CDEK_CLIENT_ID (API account; its secret is in Secret Manager)."
  type        = string
}

variable "russianpost_login" {
  description = "RUSSIANPOST_LOGIN of the tracking API (its password is in Secret Manager)."
  type        = string
}

variable "sms_sender" {
  description = "SMS_SENDER: an approved SMS.ru sender name; empty for the gateway's default."
  type        = string
  default     = ""
}

variable "sms_test" {
  description = "SMSRU_TEST: SMS.ru test mode (accepted, not delivered, not billed)."
  type        = bool
  default     = false
}

variable "sms_daily_budget" {
  description = "KOPILKA_SMS_DAILY_BUDGET: login codes sent per Moscow day across every phone (a circuit breaker against SMS pumping); 0: no cap."
  type        = number
  default     = 2000
}

variable "operators" {
  description = "IAM members (user:, group:) allowed to invoke the internal functions (expiry_sweep, referral_reward) by hand."
  type        = list(string)
  default     = []
}

variable "packages" {
  description = "Zip name in dist/ per function; written to packages.auto.tfvars.json by `make package`."
  type        = map(string)
}

variable "token_secret_fingerprint" {
  description = "KOPILKA_TOKEN_SECRET_FINGERPRINT: SHA-256 (lowercase hex) of the customer token secret's value (`printf %s \"$secret\" | sha256sum`). The admin function does not mount the customer secret; it refuses an admin token secret with this fingerprint. Empty: not compared."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^([0-9a-f]{64})?$", var.token_secret_fingerprint))
    error_message = "token_secret_fingerprint must be the secret's SHA-256 as 64 lowercase hex digits (or empty)."
  }
}

variable "kit" {
  description = "The storefront kit's build, storefront/dist/manifest.json ({file, integrity, gzip_bytes}); written to packages.auto.tfvars.json by `make package` when the kit is built. null: no kit is deployed and storefront_snippet is null."
  type = object({
    file       = string
    integrity  = string
    gzip_bytes = number
  })
  default = null

  validation {
    condition     = var.kit == null ? true : can(regex("^kopilka-kit\\.[0-9a-f]+\\.js$", var.kit.file)) && can(regex("^sha384-[A-Za-z0-9+/]{64}$", var.kit.integrity))
    error_message = "kit.file is kopilka-kit.<hex>.js and kit.integrity its sha384-<base64> Subresource Integrity."
  }
}

variable "console_idle_minutes" {
  description = "A back-office console session ends after this many minutes without a request."
  type        = number
  default     = 30
  validation {
    condition     = var.console_idle_minutes >= 5 && var.console_idle_minutes <= 240
    error_message = "console_idle_minutes must be between 5 and 240."
  }
}

variable "smtp_host" {
  description = "SMTP_HOST: the messages' mail server; empty: no e-mail channel."
  type        = string
  default     = ""
}

variable "smtp_port" {
  description = "SMTP_PORT: the mail server's submission port (STARTTLS)."
  type        = number
  default     = 587
}

variable "smtp_user" {
  description = "SMTP_USER: the mail server's login (its password is the smtp_password secret)."
  type        = string
  default     = ""
}

variable "smtp_from" {
  description = "SMTP_FROM: the letters' From address, e.g. \"Biomiq <bonus@biomiq.ru>\"."
  type        = string
  default     = ""
}
