# /id: идентификаторы, которые ИТ-специалист вносит в конфигурацию (без сторонних ботов).
id-chat = Идентификатор этого чата: <code>{ $chat_id }</code> ({ $chat_type })
id-user = Ваш идентификатор пользователя: <code>{ NUMBER($user_id, useGrouping: 0) }</code>
id-hint-group =
    Чтобы сделать этот чат чатом сотрудников, задайте <code>BOT_STAFF_CHAT_ID={ $chat_id }</code> (или <code>staff.chat_id</code> в config.yaml) и перезапустите бота. Затем выполните <code>python -m bot doctor</code>, чтобы проверить права бота здесь.
id-hint-private =
    Чтобы дать сотруднику служебные команды, перечислите идентификаторы пользователей в <code>BOT_STAFF_ADMINS</code> (например, <code>BOT_STAFF_ADMINS={ NUMBER($user_id, useGrouping: 0) },987654321</code>) или в <code>staff.admins</code> и перезапустите бота.
id-anonymous =
    Вы пишете от имени группы (анонимный администратор), поэтому ваш собственный идентификатор скрыт. Отправьте /id боту в личном чате, чтобы узнать его.
