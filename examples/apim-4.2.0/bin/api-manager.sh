#!/bin/sh
# Example start-up script for apim-tune's README, trimmed from the shape of API-M 4.2.0's
# bin/api-manager.sh: only the parts that set JVM options. Not a WSO2 file.

CARBON_HOME=$(cd "$(dirname "$0")/.." && pwd)
JAVACMD="$JAVA_HOME/bin/java"

if [ -z "$JVM_MEM_OPTS" ]; then
   java_version=$("$JAVACMD" -version 2>&1 | awk -F '"' '/version/ {print $2}')
   JVM_MEM_OPTS="-Xms1024m -Xmx4096m -XX:MaxPermSize=1024m"
   if [ "$java_version" \< "1.8" ]; then
      JVM_MEM_OPTS="$JVM_MEM_OPTS -XX:MaxPermSize=256m"
   fi
fi
echo "Using Java memory options: $JVM_MEM_OPTS"

$JAVACMD \
    $JVM_MEM_OPTS \
    -XX:+HeapDumpOnOutOfMemoryError \
    -XX:HeapDumpPath="$CARBON_HOME/repository/logs/heap-dump.hprof" \
    $JAVA_OPTS \
    -DentityExpansionLimit=100000 \
    -Dcarbon.home="$CARBON_HOME" \
    org.wso2.carbon.bootstrap.Bootstrap "$@"
