#!/bin/sh
# Example start-up script for apim-tune's README, trimmed from the shape of API-M 2.6.0's
# bin/wso2server.sh: only the parts that set JVM options. Not a WSO2 file.

CARBON_HOME=$(cd "$(dirname "$0")/.." && pwd)
JAVACMD="$JAVA_HOME/bin/java"

if [ -z "$JVM_MEM_OPTS" ]; then
   java_version=$("$JAVACMD" -version 2>&1 | awk -F '"' '/version/ {print $2}')
   JVM_MEM_OPTS="-Xms256m -Xmx1024m"
   if [ "$java_version" \< "1.8" ]; then
      JVM_MEM_OPTS="$JVM_MEM_OPTS -XX:MaxPermSize=256m"
   fi
fi

$JAVACMD \
    $JVM_MEM_OPTS \
    -XX:+HeapDumpOnOutOfMemoryError \
    $JAVA_OPTS \
    -Dcarbon.home="$CARBON_HOME" \
    org.wso2.carbon.bootstrap.Bootstrap "$@"
