from django.db.models import Q, QuerySet

from accounts.models import User


def user_list(*, search: str = "") -> QuerySet[User]:
    users = User.objects.filter(is_active=True)
    if search:
        users = users.filter(Q(login__icontains=search) | Q(name__icontains=search))
    return users
