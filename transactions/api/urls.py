from atm_project.routers import OptionalSlashRouter

from .views import TransactionViewSet, TransferViewSet

router = OptionalSlashRouter()
router.register("transfers", TransferViewSet, basename="transfer")
router.register("transactions", TransactionViewSet, basename="transaction")

urlpatterns = router.urls
