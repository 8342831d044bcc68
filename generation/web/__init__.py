"""The operators' site: views, forms, URLs and the template tags (`task_display`, registered in settings)."""
