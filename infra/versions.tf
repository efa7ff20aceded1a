terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0, < 8.0"
    }
  }

  # State lives in a GCS bucket, one prefix per environment:
  #   terraform init -backend-config="bucket=<state bucket>" -backend-config="prefix=kopilka/<env>"
  backend "gcs" {}
}
