# /id: the ids the IT person puts in the configuration (no third-party bots needed).
id-chat = This chat's id: <code>{ $chat_id }</code> ({ $chat_type })
id-user = Your user id: <code>{ NUMBER($user_id, useGrouping: 0) }</code>
id-hint-group =
    To make this the staff chat, set <code>BOT_STAFF_CHAT_ID={ $chat_id }</code> (or <code>staff.chat_id</code> in config.yaml) and restart the bot. Then run <code>python -m bot doctor</code> to check the bot's rights here.
id-hint-private =
    To give someone the staff commands, list their user ids in <code>BOT_STAFF_ADMINS</code> (e.g. <code>BOT_STAFF_ADMINS={ NUMBER($user_id, useGrouping: 0) },987654321</code>) or in <code>staff.admins</code>, and restart the bot.
id-anonymous =
    You are writing as the group (anonymous admin), so your own user id is hidden. Send /id to the bot in a private chat to see it.
