from atm_project.routers import OptionalSlashRouter

from .views import AccountViewSet

router = OptionalSlashRouter()
router.register("accounts", AccountViewSet, basename="account")

urlpatterns = router.urls
