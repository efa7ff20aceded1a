# The functions' source zips. `make package` builds dist/<function>-<sha256>.zip
# and writes their names to infra/packages.auto.tfvars.json (var.packages), which
# Terraform loads by itself: a code change is a new object name, so exactly the
# changed functions are rebuilt.

resource "google_storage_bucket" "source" {
  name                        = "${var.project}-${local.prefix}-sources"
  project                     = var.project
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.env == "dev"

  versioning {
    enabled = true
  }
}

resource "google_storage_bucket_object" "package" {
  for_each = var.packages

  name   = each.value
  bucket = google_storage_bucket.source.name
  source = "${path.module}/../dist/${each.value}"
}
