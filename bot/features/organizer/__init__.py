"""The organizer's view: consent-aware member status, the weekly digest, live views, export."""
