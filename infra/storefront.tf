# The storefront kit: one script every shop page loads, served from a public
# Cloud Storage bucket. `python -m scripts.kit` builds
# storefront/dist/kopilka-kit.<hash>.js and its manifest; `make package`
# checks the file against the manifest's integrity, writes a gzipped copy to
# dist/ and the manifest to packages.auto.tfvars.json (var.kit). The object's
# name changes with its content, so it is cached for a year as immutable; the
# tag that loads it (output storefront_snippet) pins it with Subresource
# Integrity, which needs CORS (crossorigin="anonymous"): GET from any origin.
# Anyone may read an object by its name; nobody outside the project may list
# the bucket (roles/storage.legacyObjectReader: storage.objects.get only).

locals {
  kit_base_url = "https://storage.googleapis.com/${google_storage_bucket.kit.name}"

  # function => the data attribute that hands its URL to the kit, in the tag's order
  kit_attributes = [
    ["cart_quote", "data-cart-quote"],
    ["sms_otp", "data-sms-otp"],
    ["account", "data-account"],
    ["checkout", "data-checkout"],
  ]
}

resource "google_storage_bucket" "kit" {
  name                        = "${var.project}-${local.prefix}-kit"
  project                     = var.project
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "inherited" # public by design: allUsers read the kit's objects (below)
  force_destroy               = var.env == "dev"

  versioning {
    enabled = true
  }

  # A replaced kit's noncurrent version is kept a month, to restore by hand.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }

  cors {
    origin          = ["*"]
    method          = ["GET", "HEAD"]
    response_header = ["Content-Type", "Content-Encoding", "Cache-Control", "ETag"]
    max_age_seconds = 86400
  }
}

# Read an object by its name, no listing.
resource "google_storage_bucket_iam_member" "kit_public" {
  bucket = google_storage_bucket.kit.name
  role   = "roles/storage.legacyObjectReader"
  member = "allUsers"
}

# The kit, stored gzipped: Cloud Storage answers it gzipped to browsers that
# accept it and decompresses it for the others; the integrity is the script's.
resource "google_storage_bucket_object" "kit" {
  count = var.kit == null ? 0 : 1

  name             = var.kit.file
  bucket           = google_storage_bucket.kit.name
  source           = "${path.module}/../dist/${var.kit.file}.gz"
  content_type     = "text/javascript; charset=utf-8"
  content_encoding = "gzip"
  cache_control    = "public, max-age=31536000, immutable"

  lifecycle {
    create_before_destroy = true
  }
}
