-- The seed's schema ("Database Schema & Relations"), the tables this baseline uses.
CREATE TYPE conversation_type AS ENUM ('PRIVATE', 'GROUP', 'SPACE');
CREATE TYPE participant_role AS ENUM ('OWNER', 'ADMIN', 'MODERATOR', 'MEMBER');
CREATE TYPE participant_status AS ENUM ('ACTIVE', 'LEFT', 'REMOVED', 'PENDING');
CREATE TYPE message_type AS ENUM ('TEXT', 'IMAGE', 'FILE', 'AUDIO', 'VIDEO', 'SYSTEM', 'EMOJI');
CREATE TYPE message_status AS ENUM ('PENDING', 'SENT', 'DELIVERED', 'READ', 'FAILED', 'DELETED');

CREATE TABLE users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    username VARCHAR(50) UNIQUE NOT NULL,
    email VARCHAR(255) UNIQUE NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    avatar VARCHAR(500),
    display_name VARCHAR(100),
    bio TEXT,
    is_active BOOLEAN DEFAULT true,
    last_seen TIMESTAMP,
    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW()
);
CREATE INDEX idx_users_username ON users(username);
CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_last_seen ON users(last_seen);

CREATE TABLE conversations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(100),
    description TEXT,
    type conversation_type NOT NULL DEFAULT 'PRIVATE',
    space_id UUID,
    avatar VARCHAR(500),
    is_archived BOOLEAN DEFAULT false,
    created_by UUID REFERENCES users(id),
    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW(),
    last_message_at TIMESTAMP DEFAULT NOW(),
    last_message_id UUID,
    metadata JSONB DEFAULT '{}'::jsonb
);
CREATE INDEX idx_conversations_type ON conversations(type);
CREATE INDEX idx_conversations_space_id ON conversations(space_id) WHERE space_id IS NOT NULL;
CREATE INDEX idx_conversations_last_message_at ON conversations(last_message_at DESC);
CREATE INDEX idx_conversations_created_by ON conversations(created_by);

CREATE TABLE conversation_participants (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role participant_role DEFAULT 'MEMBER',
    status participant_status DEFAULT 'ACTIVE',
    joined_at TIMESTAMP DEFAULT NOW(),
    left_at TIMESTAMP,
    last_read_at TIMESTAMP DEFAULT NOW(),
    last_read_message_id UUID,
    unread_count INTEGER DEFAULT 0,
    can_send_messages BOOLEAN DEFAULT true,
    can_upload_files BOOLEAN DEFAULT true,
    can_add_members BOOLEAN DEFAULT false,
    can_remove_members BOOLEAN DEFAULT false,
    notifications_enabled BOOLEAN DEFAULT true,
    metadata JSONB DEFAULT '{}'::jsonb,
    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW(),
    UNIQUE(conversation_id, user_id)
);
CREATE INDEX idx_participants_conversation_id ON conversation_participants(conversation_id);
CREATE INDEX idx_participants_user_id ON conversation_participants(user_id);
CREATE INDEX idx_participants_status ON conversation_participants(status);
CREATE INDEX idx_participants_unread_count ON conversation_participants(unread_count) WHERE unread_count > 0;
CREATE INDEX idx_participants_conversation_unread ON conversation_participants(conversation_id, unread_count) WHERE unread_count > 0;

CREATE TABLE messages (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type message_type DEFAULT 'TEXT',
    content TEXT,
    status message_status DEFAULT 'PENDING',
    parent_message_id UUID REFERENCES messages(id),
    thread_id UUID,
    attachments JSONB DEFAULT '[]'::jsonb,
    metadata JSONB DEFAULT '{}'::jsonb,
    mentions UUID[] DEFAULT ARRAY[]::UUID[],
    client_timestamp TIMESTAMP,
    server_timestamp TIMESTAMP DEFAULT NOW(),
    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW(),
    deleted_at TIMESTAMP,
    is_optimistic BOOLEAN DEFAULT false,
    optimistic_id VARCHAR(100)
);
CREATE INDEX idx_messages_conversation_id ON messages(conversation_id);
CREATE INDEX idx_messages_sender_id ON messages(sender_id);
CREATE INDEX idx_messages_created_at ON messages(created_at DESC);
CREATE INDEX idx_messages_conversation_created ON messages(conversation_id, created_at DESC);
CREATE INDEX idx_messages_status ON messages(status);
CREATE INDEX idx_messages_parent_message_id ON messages(parent_message_id) WHERE parent_message_id IS NOT NULL;
CREATE INDEX idx_messages_thread_id ON messages(thread_id) WHERE thread_id IS NOT NULL;
CREATE INDEX idx_messages_mentions ON messages USING GIN(mentions) WHERE array_length(mentions, 1) > 0;
CREATE INDEX idx_messages_metadata ON messages USING GIN(metadata);
