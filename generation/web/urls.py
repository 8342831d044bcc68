from django.urls import path

from generation.web import views

persona = "tasks/<str:task_code>/personas/<int:result_id>/"

urlpatterns = [
    path("", views.task_list, name="home"),
    path("tasks/", views.task_list, name="task_list"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("tasks/new/", views.task_new, name="task_new"),
    path("tasks/estimate/", views.task_estimate, name="task_estimate"),
    path("tasks/<str:task_code>/", views.task_detail, name="task_detail"),
    path("tasks/<str:task_code>/live/", views.task_live, name="task_live"),
    path("tasks/<str:task_code>/progress/", views.task_progress, name="task_progress"),
    path("tasks/<str:task_code>/retry/", views.task_retry, name="task_retry"),
    path("tasks/<str:task_code>/cancel/", views.task_cancel, name="task_cancel"),
    path("tasks/<str:task_code>/generate-missing/", views.task_generate_missing, name="task_generate_missing"),
    path("tasks/<str:task_code>/delete/", views.task_delete, name="task_delete"),
    path("tasks/<str:task_code>/export.csv", views.export_csv, name="export_csv"),
    path("tasks/<str:task_code>/export.json", views.export_json, name="export_json"),
    path("tasks/<str:task_code>/export.zip", views.export_zip, name="export_zip"),
    path("tasks/<str:task_code>/export.zip/status", views.export_zip_status, name="export_zip_status"),
    path(persona + "export.zip", views.export_persona_zip, name="export_persona_zip"),
    path(persona + "<slug:action>/", views.persona_action, name="persona_action"),
]
