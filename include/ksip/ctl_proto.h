/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket protocol between ksipctl and ksipd: one request per
 * connection, a line of TAB-separated fields ending in '\n'. The answer is
 * "ok\n" followed by the output, or "error\t<message>\n". Output formats
 * (table or JSON) are produced by the daemon so the two can't drift.
 */
#ifndef KSIP_CTL_PROTO_H
#define KSIP_CTL_PROTO_H

#define CTL_MAX_REQUEST 4096
#define CTL_FIELD_SEP '\t'

/* Commands: name, then arguments. */
#define CTL_USER_ADD "user-add"		/* NAME PASSWORD [DIGEST] ("" or absent: auto) */
#define CTL_USER_PASSWD "user-passwd"	/* NAME PASSWORD */
#define CTL_USER_SET "user-set"		/* NAME DIGEST (auto, sha256, md5, both) */
#define CTL_USER_DEL "user-del"		/* NAME */
#define CTL_USER_LIST "user-list"	/* [json] */
#define CTL_REG_LIST "reg-list"		/* [json] */
#define CTL_REG_DEL "reg-del"		/* AOR */
#define CTL_STATS "stats"		/* [json] */
#define CTL_CALL_LIST "call-list"	/* [json] */
#define CTL_CALL_HANGUP "call-hangup"	/* ID */
#define CTL_CALL_TAP "call-tap"		/* ID ADDR:PORT [json] */
#define CTL_CALL_UNTAP "call-untap"	/* ID [ADDR:PORT] [json] (none: every tap) */
#define CTL_BAN_LIST "ban-list"		/* [json] */
#define CTL_BAN_DEL "ban-del"		/* ADDR or IPV6/64 */
#define CTL_BAN_ADD "ban-add"		/* ADDR SECONDS REASON (SECONDS "": ban_time; REASON may be "") */
#define CTL_SHIELD "shield"		/* [json] */
#define CTL_STATUS "status"		/* [json] */
#define CTL_TLS_SHOW "tls-show"		/* [json] */
#define CTL_TLS_RELOAD "tls-reload"
#define CTL_ROOM_PREFIX "room-"		/* conference rooms (daemon/control_rooms.c): */
#define CTL_ROOM_ADD "room-add"		/* NAME PIN MAX (PIN "": none; MAX "": room_max_members) */
#define CTL_ROOM_DEL "room-del"		/* NAME: its members get a BYE */
#define CTL_ROOM_LIST "room-list"	/* [json]: rooms and their members */
#define CTL_ROOM_KICK "room-kick"	/* NAME MEMBER: BYE to MEMBER's calls in room NAME */
#define CTL_PAGE_ADD "page-add"		/* NAME MEMBER... (at most PAGE_MEMBERS_MAX, 16) */
#define CTL_PAGE_DEL "page-del"		/* NAME */
#define CTL_PAGE_LIST "page-list"	/* [json] */

#endif
