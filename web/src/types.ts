// Wire shapes from the hubbub contract (docs/http-api.md, docs/socket-protocol.md), camelCase JSON.

export type ConversationType = "PRIVATE" | "GROUP" | "SPACE";
export type MessageType = "TEXT" | "IMAGE" | "FILE" | "AUDIO" | "VIDEO" | "SYSTEM" | "EMOJI";
export type MessageStatus = "PENDING" | "SENT" | "DELIVERED" | "READ" | "FAILED" | "DELETED";
export type Role = "OWNER" | "ADMIN" | "MODERATOR" | "MEMBER";
export type ParticipantStatus = "ACTIVE" | "LEFT" | "REMOVED" | "PENDING";

export interface User {
  id: string;
  username: string;
  displayName: string | null;
  avatar: string | null;
  bio?: string | null;
  isOnline?: boolean;
  lastSeen?: string | null;
  createdAt?: string;
  isBot?: boolean;
}

export interface Me extends User {
  email: string;
  updatedAt?: string;
}

export interface Sender {
  id: string;
  username: string;
  displayName: string | null;
  avatar: string | null;
  isBot?: boolean;
}

export interface Reaction {
  emoji: string;
  count: number;
  userIds: string[];
}

export interface Attachment {
  id: string;
  url: string;
  filename: string;
  size: number;
  mimeType: string;
  width?: number | null;
  height?: number | null;
  thumbnailUrl?: string | null;
}

export interface Message {
  id: string;
  conversationId: string;
  senderId: string;
  sender?: Sender | null;
  type: MessageType;
  content: string;
  status: MessageStatus;
  seq: number;
  changeSeq: number;
  parentMessageId?: string | null;
  threadId?: string | null;
  replyCount?: number;
  attachments: Attachment[];
  metadata?: Record<string, unknown>;
  mentions?: string[];
  reactions?: Reaction[];
  clientTimestamp?: string | null;
  serverTimestamp?: string | null;
  createdAt: string;
  updatedAt?: string;
  editedAt?: string | null;
  deletedAt?: string | null;
  optimisticId?: string | null;
}

/** One entry of `GET /mentions`. */
export interface Mention {
  message: Message;
  conversationId: string;
  conversationName: string | null;
}

export interface Participant {
  userId: string;
  user?: User;
  role: Role;
  status: ParticipantStatus;
  joinedAt?: string;
  lastReadAt?: string | null;
  lastReadMessageId?: string | null;
  lastReadSeq: number;
  canSendMessages?: boolean;
  canUploadFiles?: boolean;
  canAddMembers?: boolean;
  canRemoveMembers?: boolean;
  notificationsEnabled?: boolean;
}

export interface Conversation {
  id: string;
  type: ConversationType;
  name: string | null;
  description?: string | null;
  avatar?: string | null;
  spaceId?: string | null;
  isArchived: boolean;
  createdBy?: string;
  createdAt: string;
  updatedAt?: string;
  lastMessageAt: string | null;
  lastMessage: Message | null;
  lastSeq: number;
  participants: Participant[];
  participantCount?: number;
  unreadCount: number;
  /** Unread messages that mention the user (the server's count). */
  unreadMentions?: number;
  myRole?: Role | null;
  notificationsEnabled: boolean;
  /** The caller's own level here; null follows their default for the conversation's type. */
  notificationLevel?: "all" | "mentions" | "nothing" | null;
  /** Notifications held until then (an RFC 3339 time), or null. */
  mutedUntil?: string | null;
}

export interface Space {
  id: string;
  name: string;
  description?: string | null;
  avatar?: string | null;
  createdBy?: string;
  createdAt?: string;
  memberCount?: number;
  myRole?: Role | null;
}

export interface UploadedFile {
  id: string;
  url: string;
  filename: string;
  size: number;
  mimeType: string;
  width?: number | null;
  height?: number | null;
  thumbnailUrl?: string | null;
}

export interface AckError {
  code: string;
  message: string;
  retryAfter?: number;
}

export interface SyncEntry {
  changes: Message[];
  lastSeq: number;
  hasMore: boolean;
}

export interface SyncAck {
  ok: boolean;
  conversations?: Record<string, SyncEntry>;
  removed?: string[];
  error?: AckError;
}

export type ConnectionState = "connecting" | "online" | "syncing" | "reconnecting" | "offline";
