BEGIN TRANSACTION;
CREATE TABLE "cards" (
   "uid" BLOB PRIMARY KEY,
   "member_id" TEXT NOT NULL,
   "issue_no" INTEGER NOT NULL,
   "status" TEXT NOT NULL,
   "last_counter" INTEGER NOT NULL,
   "updated_at" TEXT
);
INSERT INTO "cards" VALUES(X'04A1B2C3','M1',1,'active',4,'2026-03-01T02:04:00.000000Z');
INSERT INTO "cards" VALUES(X'04D5E6F7','M2',1,'active',0,'2026-03-01T02:00:00.000000Z');
INSERT INTO "cards" VALUES(X'0411223344556677','M3',1,'active',2,'2026-03-01T02:05:00.000000Z');
CREATE TABLE "denylist" (
   "uid" BLOB PRIMARY KEY,
   "reason" TEXT NOT NULL,
   "source" TEXT NOT NULL,
   "added_at" TEXT
);
INSERT INTO "denylist" VALUES(X'04998877','rollback','local','2026-03-01T02:03:00.000000Z');
CREATE TABLE "intents" (
   "intent_id" TEXT PRIMARY KEY,
   "member_id" TEXT NOT NULL,
   "reward_id" TEXT NOT NULL,
   "card_uid" BLOB,
   "online" INTEGER NOT NULL,
   "state" TEXT NOT NULL,
   "card_counter" INTEGER,
   "cost_points" INTEGER NOT NULL,
   "rules_version" INTEGER,
   "voucher_id" TEXT,
   "created_at" TEXT NOT NULL,
   "updated_at" TEXT
);
INSERT INTO "intents" VALUES('i1','M1','off-5',NULL,1,'confirmed',NULL,500,1,'kiosk-01-1','2026-03-01T02:00:00.000000Z','2026-03-01T02:00:00.000000Z');
INSERT INTO "intents" VALUES('i2','M1','off-10',X'04A1B2C3',1,'confirmed',4,1000,1,'kiosk-01-2','2026-03-01T02:01:00.000000Z','2026-03-01T02:01:00.000000Z');
INSERT INTO "intents" VALUES('i3','M2','drink',NULL,0,'confirmed',NULL,800,1,'kiosk-01-3','2026-03-01T02:02:00.000000Z','2026-03-01T02:02:00.000000Z');
INSERT INTO "intents" VALUES('i4','M2','off-5',X'04D5E6F7',1,'prepared',1,500,1,NULL,'2026-03-01T02:03:00.000000Z','2026-03-01T02:03:00.000000Z');
INSERT INTO "intents" VALUES('i5','M1','gift-wrap',NULL,1,'abandoned',NULL,300,1,NULL,'2026-03-01T02:03:00.000000Z','2026-03-01T02:03:00.000000Z');
INSERT INTO "intents" VALUES('i6','M3','gift-wrap',NULL,1,'confirmed',NULL,300,1,'kiosk-01-4','2026-03-01T02:05:00.000000Z','2026-03-01T02:05:00.000000Z');
INSERT INTO "intents" VALUES('i7','M2','off-5',NULL,1,'confirmed',NULL,500,1,'kiosk-01-5','2026-03-01T02:06:00.000000Z','2026-03-01T02:06:00.000000Z');
CREATE TABLE "local_events" (
   "event_id" TEXT PRIMARY KEY,
   "member_id" TEXT NOT NULL,
   "kind" TEXT NOT NULL,
   "points" INTEGER NOT NULL,
   "created_at" TEXT NOT NULL,
   "rules_version" INTEGER,
   "intent_id" TEXT,
   "voucher_id" TEXT,
   "offline" INTEGER NOT NULL,
   "acked_version" INTEGER
);
INSERT INTO "local_events" VALUES('53a7e06f-9927-57eb-8198-aa42acf3ac40','M1','redemption',500,'2026-03-01T02:00:00.000000Z',1,'i1','kiosk-01-1',0,2);
INSERT INTO "local_events" VALUES('5cab5751-01e1-5b17-9bd9-84a7560c577d','M1','redemption',1000,'2026-03-01T02:01:00.000000Z',1,'i2','kiosk-01-2',0,NULL);
INSERT INTO "local_events" VALUES('3da48c0e-7ff2-5df8-8606-fc6f83568317','M2','redemption',800,'2026-03-01T02:02:00.000000Z',1,'i3','kiosk-01-3',1,NULL);
INSERT INTO "local_events" VALUES('d38bfa89-2214-52ea-aa38-43000aebe22c','M3','redemption',300,'2026-03-01T02:05:00.000000Z',1,'i6','kiosk-01-4',0,NULL);
INSERT INTO "local_events" VALUES('57100994-c022-59a9-b91f-48af11bdcf5f','M2','redemption',500,'2026-03-01T02:06:00.000000Z',1,'i7','kiosk-01-5',0,NULL);
CREATE TABLE "lots" (
   "member_id" TEXT REFERENCES "members"("member_id"),
   "lot_id" TEXT,
   "points" INTEGER NOT NULL,
   "earned_at" TEXT NOT NULL,
   "expires_at" TEXT NOT NULL,
   PRIMARY KEY ("member_id", "lot_id")
);
INSERT INTO "lots" VALUES('M2','L1',5000,'2026-01-30T02:00:00.000000Z','2026-12-26T02:00:00.000000Z');
INSERT INTO "lots" VALUES('M4','S',150,'2026-01-30T02:00:00.000000Z','2026-03-03T02:00:00.000000Z');
INSERT INTO "lots" VALUES('M1','A',100,'2026-01-30T02:00:00.000000Z','2026-03-11T02:00:00.000000Z');
INSERT INTO "lots" VALUES('M1','B',2000,'2026-01-30T02:00:00.000000Z','2026-09-17T02:00:00.000000Z');
INSERT INTO "lots" VALUES('M3','X',100,'2026-01-30T02:00:00.000000Z','2026-04-10T02:00:00.000000Z');
CREATE TABLE "members" (
   "member_id" TEXT PRIMARY KEY,
   "name" TEXT NOT NULL,
   "birthday" TEXT,
   "balance_fen" INTEGER NOT NULL,
   "spend_fen" INTEGER NOT NULL,
   "growth_points" INTEGER NOT NULL,
   "tier_floor" TEXT,
   "tier_override" TEXT,
   "snapshot_version" INTEGER NOT NULL
);
INSERT INTO "members" VALUES('M1','张三明',NULL,0,600000,0,NULL,NULL,2);
INSERT INTO "members" VALUES('M2','李娜',NULL,0,120000,0,NULL,NULL,1);
INSERT INTO "members" VALUES('M3','Li Xiaoming',NULL,0,0,0,NULL,NULL,3);
INSERT INTO "members" VALUES('M4','欧阳小明','1990-03-01',0,0,0,NULL,NULL,1);
CREATE TABLE "meta" (
   "key" TEXT PRIMARY KEY,
   "value" TEXT NOT NULL
);
INSERT INTO "meta" VALUES('member_snapshot_version','3');
INSERT INTO "meta" VALUES('voucher_serial','5');
INSERT INTO "meta" VALUES('outbox_seq','8');
CREATE TABLE "outbox" (
   "seq" INTEGER PRIMARY KEY,
   "event_id" TEXT NOT NULL,
   "type" TEXT NOT NULL,
   "payload" TEXT NOT NULL,
   "created_at" TEXT NOT NULL,
   "offline" INTEGER NOT NULL
);
INSERT INTO "outbox" VALUES(3,'3da48c0e-7ff2-5df8-8606-fc6f83568317','redemption','{"card_counter": null, "card_uid": null, "device_id": "kiosk-01", "expires_at": "2026-03-15T10:02:00+08:00", "intent_id": "i3", "issued_at": "2026-03-01T10:02:00+08:00", "lots": [["L1", 800]], "member_id": "M2", "offline": true, "points": 800, "reward_id": "drink", "rules_version": 1, "value_fen": 1800, "voucher_code": "AEAAAAADNGRZ4GDJWYJRQAAAA4EAQ23JN5ZWWLJQGECWI4TJNZVVM2XP33QINTXFZCNH3APMYJWWOR4PJG2VPIWQ6KFBCFFEZ4KW33JJ3A6F4V2XFQ242JMV6INQEJG74LXKYJJY6AUMOZPR5DTNB4XKAE", "voucher_id": "kiosk-01-3"}','2026-03-01T02:02:00.000000Z',1);
INSERT INTO "outbox" VALUES(4,'154368ff-c84c-4c02-9857-8c056e26af5e','security.card_denied','{"device_id": "kiosk-01", "reason": "rollback", "source": "local", "uid": "04998877"}','2026-03-01T02:03:00.000000Z',0);
INSERT INTO "outbox" VALUES(5,'3a9195f0-12ed-436d-83e7-25e0c3bca2f0','security.tamper','{"detail": {"sector": 4}, "device_id": "kiosk-01", "uid": "04a1b2c3"}','2026-03-01T02:03:00.000000Z',0);
INSERT INTO "outbox" VALUES(6,'d38bfa89-2214-52ea-aa38-43000aebe22c','redemption','{"card_counter": null, "card_uid": null, "device_id": "kiosk-01", "expires_at": "2026-05-30T10:05:00+08:00", "intent_id": "i6", "issued_at": "2026-03-01T10:05:00+08:00", "lots": [["X", 300]], "member_id": "M3", "offline": false, "points": 300, "reward_id": "gift-wrap", "rules_version": 1, "value_fen": 1000, "voucher_code": "AEAAAAAENGRZ5TDKDJC4YAAAAPUAQ23JN5ZWWLJQGEEWO2LGOQWXO4TBOBQL3NXWVLS6MSH5ABFDMI6SYWLGVPTF7RFLYNY7GANZJID73PQY3B5GZUZG5BKQ5NF7FHUCQNVWJ72L4CVOF76KDUUAJBLRCIXZIYQP", "voucher_id": "kiosk-01-4"}','2026-03-01T02:05:00.000000Z',0);
INSERT INTO "outbox" VALUES(7,'d1d138ca-8571-48f2-892a-89b4d779eaea','card.registered','{"device_id": "kiosk-01", "issue_no": 1, "member_id": "M3", "uid": "0411223344556677"}','2026-03-01T02:05:00.000000Z',0);
INSERT INTO "outbox" VALUES(8,'57100994-c022-59a9-b91f-48af11bdcf5f','redemption','{"card_counter": null, "card_uid": null, "device_id": "kiosk-01", "expires_at": "2026-03-31T10:06:00+08:00", "intent_id": "i7", "issued_at": "2026-03-01T10:06:00+08:00", "lots": [["L1", 500]], "member_id": "M2", "offline": false, "points": 500, "reward_id": "off-5", "rules_version": 1, "value_fen": 500, "voucher_code": "AEAAAAAFNGRZ6CDJZMWAQAAAAH2AQ23JN5ZWWLJQGECW6ZTGFU23ZMK7XPC6KWRFS4IBCQ3MGBBB3V7C4NBXGG72K44UVULQST4TZBFJRX7YSJEZFLXUIRWAOAXHA2PKBC55W3FVGZWNHGB6IG7JELAAA4", "voucher_id": "kiosk-01-5"}','2026-03-01T02:06:00.000000Z',0);
CREATE TABLE "rules" (
   "version" INTEGER PRIMARY KEY,
   "document" TEXT NOT NULL,
   "applied_at" TEXT NOT NULL
);
INSERT INTO "rules" VALUES(1,'{"measure": "spend_fen", "downgrade": false, "tiers": [{"code": "regular", "name": {"zh_CN": "普通会员", "en": "Regular"}, "threshold": 0, "discount_pct": 95, "points_multiplier": "1", "benefits": {"zh_CN": "消费95折，每元积1分", "en": "5% off, 1 point per yuan"}}, {"code": "silver", "name": {"zh_CN": "银卡", "en": "Silver"}, "threshold": 100000, "discount_pct": 90, "points_multiplier": "1.5", "benefits": {"zh_CN": "消费9折，积分1.5倍，生日礼", "en": "10% off, 1.5x points, birthday gift"}}, {"code": "gold", "name": {"zh_CN": "金卡", "en": "Gold"}, "threshold": 500000, "discount_pct": 85, "points_multiplier": "2", "benefits": {"zh_CN": "消费85折，积分2倍，会员日专享", "en": "15% off, 2x points, member-day offers"}}, {"code": "diamond", "name": {"zh_CN": "钻石", "en": "Diamond"}, "threshold": 1000000, "discount_pct": 80, "points_multiplier": "2.5", "benefits": {"zh_CN": "消费8折，积分2.5倍，专属客服", "en": "20% off, 2.5x points, dedicated service"}}], "rewards": [{"reward_id": "off-5", "name": {"zh_CN": "5元代金券", "en": "¥5 off voucher"}, "kind": "money_off", "cost_points": 500, "value_fen": 500, "validity_days": 30}, {"reward_id": "off-10", "name": {"zh_CN": "10元代金券", "en": "¥10 off voucher"}, "kind": "money_off", "cost_points": 1000, "value_fen": 1000, "validity_days": 30, "per_member_limit": {"count": 3, "period_days": 30}}, {"reward_id": "off-50", "name": {"zh_CN": "50元代金券", "en": "¥50 off voucher"}, "kind": "money_off", "cost_points": 5000, "value_fen": 5000, "validity_days": 60}, {"reward_id": "drink", "name": {"zh_CN": "招牌奶茶一杯", "en": "Signature milk tea"}, "kind": "item", "cost_points": 800, "value_fen": 1800, "validity_days": 14, "stock": 50}, {"reward_id": "gift-wrap", "name": {"zh_CN": "免费礼品包装", "en": "Free gift wrapping"}, "kind": "service", "cost_points": 300, "value_fen": 1000, "validity_days": 90}, {"reward_id": "lounge", "name": {"zh_CN": "贵宾休息室体验", "en": "VIP lounge visit"}, "kind": "service", "cost_points": 2000, "value_fen": 8800, "validity_days": 30, "tiers": ["gold", "diamond"], "per_member_limit": {"count": 1, "period_days": 30}}]}','2026-03-01T02:00:00.000000Z');
CREATE TABLE "spends" (
   "event_id" TEXT NOT NULL REFERENCES "local_events"("event_id"),
   "member_id" TEXT NOT NULL,
   "lot_id" TEXT,
   "points" INTEGER NOT NULL
);
INSERT INTO "spends" VALUES('3da48c0e-7ff2-5df8-8606-fc6f83568317','M2','L1',800);
INSERT INTO "spends" VALUES('5cab5751-01e1-5b17-9bd9-84a7560c577d','M1','A',100);
INSERT INTO "spends" VALUES('5cab5751-01e1-5b17-9bd9-84a7560c577d','M1','B',900);
INSERT INTO "spends" VALUES('d38bfa89-2214-52ea-aa38-43000aebe22c','M3','X',100);
INSERT INTO "spends" VALUES('d38bfa89-2214-52ea-aa38-43000aebe22c','M3',NULL,200);
INSERT INTO "spends" VALUES('57100994-c022-59a9-b91f-48af11bdcf5f','M2','L1',500);
CREATE TABLE "vouchers" (
   "voucher_id" TEXT PRIMARY KEY,
   "serial" INTEGER NOT NULL,
   "member_id" TEXT NOT NULL,
   "reward_id" TEXT NOT NULL,
   "reward_name" TEXT,
   "value_fen" INTEGER,
   "cost_points" INTEGER,
   "code" TEXT NOT NULL,
   "short_code" TEXT NOT NULL,
   "issued_at" TEXT NOT NULL,
   "expires_at" TEXT NOT NULL,
   "state" TEXT NOT NULL,
   "offline" INTEGER,
   "intent_id" TEXT,
   "event_id" TEXT,
   "rules_version" INTEGER
);
INSERT INTO "vouchers" VALUES('kiosk-01-1',1,'M1','off-5','{"zh_CN": "5元代金券", "en": "¥5 off voucher"}',500,500,'AEAAAAABNGRZ3IDJZMVKAAAAAH2AQ23JN5ZWWLJQGECW6ZTGFU2XJYLTJZ3QHZ7W5LJWYCU2X7GZ4BREIPNAYM7PFCWFMKVC3VTGH62CNG62ATQWWM4V5KLRWMWNIEPUVZ6IMZUOIXKKCYBQBSQSP6GMA4','ZYX2-3XAZ','2026-03-01T02:00:00.000000Z','2026-03-31T02:00:00.000000Z','used',0,'i1','53a7e06f-9927-57eb-8198-aa42acf3ac40',1);
INSERT INTO "vouchers" VALUES('kiosk-01-2',2,'M1','off-10','{"zh_CN": "10元代金券", "en": "¥10 off voucher"}',1000,1000,'AEAAAAACNGRZ3XDJZMVNYAAAAPUAQ23JN5ZWWLJQGEDG6ZTGFUYTBVPNZMS4QSFKLW3H4P7QGLE6GISDHLUIWJVIRFNJ7KBOY6TGCVGSQ3NFUV7PJUYSCVPVT35XTF7JWSJ4YMSV6V3WMOKPGGUTWTZW7UAA','8V98-9WX3','2026-03-01T02:01:00.000000Z','2026-03-31T02:01:00.000000Z','issued',0,'i2','5cab5751-01e1-5b17-9bd9-84a7560c577d',1);
INSERT INTO "vouchers" VALUES('kiosk-01-3',3,'M2','drink','{"zh_CN": "招牌奶茶一杯", "en": "Signature milk tea"}',1800,800,'AEAAAAADNGRZ4GDJWYJRQAAAA4EAQ23JN5ZWWLJQGECWI4TJNZVVM2XP33QINTXFZCNH3APMYJWWOR4PJG2VPIWQ6KFBCFFEZ4KW33JJ3A6F4V2XFQ242JMV6INQEJG74LXKYJJY6AUMOZPR5DTNB4XKAE','XKWC-11VB','2026-03-01T02:02:00.000000Z','2026-03-15T02:02:00.000000Z','issued',1,'i3','3da48c0e-7ff2-5df8-8606-fc6f83568317',1);
INSERT INTO "vouchers" VALUES('kiosk-01-4',4,'M3','gift-wrap','{"zh_CN": "免费礼品包装", "en": "Free gift wrapping"}',1000,300,'AEAAAAAENGRZ5TDKDJC4YAAAAPUAQ23JN5ZWWLJQGEEWO2LGOQWXO4TBOBQL3NXWVLS6MSH5ABFDMI6SYWLGVPTF7RFLYNY7GANZJID73PQY3B5GZUZG5BKQ5NF7FHUCQNVWJ72L4CVOF76KDUUAJBLRCIXZIYQP','4JAS-VWCE','2026-03-01T02:05:00.000000Z','2026-05-30T02:05:00.000000Z','issued',0,'i6','d38bfa89-2214-52ea-aa38-43000aebe22c',1);
INSERT INTO "vouchers" VALUES('kiosk-01-5',5,'M2','off-5','{"zh_CN": "5元代金券", "en": "¥5 off voucher"}',500,500,'AEAAAAAFNGRZ6CDJZMWAQAAAAH2AQ23JN5ZWWLJQGECW6ZTGFU23ZMK7XPC6KWRFS4IBCQ3MGBBB3V7C4NBXGG72K44UVULQST4TZBFJRX7YSJEZFLXUIRWAOAXHA2PKBC55W3FVGZWNHGB6IG7JELAAA4','CEPA-ED96','2026-03-01T02:06:00.000000Z','2026-03-31T02:06:00.000000Z','issued',0,'i7','57100994-c022-59a9-b91f-48af11bdcf5f',1);
CREATE UNIQUE INDEX outbox_event_id ON outbox(event_id);
CREATE UNIQUE INDEX vouchers_intent ON vouchers(intent_id);
CREATE UNIQUE INDEX vouchers_short_code ON vouchers(short_code);
CREATE INDEX vouchers_member ON vouchers(member_id, issued_at);
CREATE INDEX lots_expiry ON lots(member_id, expires_at);
CREATE INDEX local_events_member ON local_events(member_id, acked_version);
CREATE INDEX spends_member ON spends(member_id, lot_id);
CREATE INDEX spends_event ON spends(event_id);
CREATE INDEX cards_member ON cards(member_id);
CREATE INDEX intents_card ON intents(card_uid, state);
CREATE INDEX intents_member ON intents(member_id, state);
COMMIT;
